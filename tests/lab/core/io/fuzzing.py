"""Hypothesis strategies and byte/JSON mutations shared by the loader fuzz tests."""

from hypothesis import strategies as st

positions = st.integers(min_value=0, max_value=2**20)
edits = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(1, 255)),
    # Bytes that mean something in CSV or JSON reach further than arbitrary ones.
    st.tuples(st.just("set"), positions, st.sampled_from(list(b'0123456789.,-+eE"[]{}:\n\r x'))),
    st.tuples(st.just("set"), positions, st.integers(0, 255)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
)


def mutate(data: bytes, operations: list[tuple]) -> bytes:
    """Apply byte-level edits; positions wrap around the current length."""
    buffer = bytearray(data)
    for operation in operations:
        at = operation[1] % (len(buffer) + 1)
        if operation[0] == "flip" and at < len(buffer):
            buffer[at] ^= operation[2]
        elif operation[0] == "set" and at < len(buffer):
            buffer[at] = operation[2]
        elif operation[0] == "truncate":
            del buffer[at:]
        elif operation[0] == "insert":
            buffer[at:at] = operation[2]
        elif operation[0] == "delete":
            del buffer[at : at + operation[2]]
    return bytes(buffer)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["mlp", "perceptron", "tanh", "adam", "#000000", 2, 3, 4]),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=4), children)
    ),
    max_leaves=12,
)


def paths_in(document: object, prefix: tuple = ()) -> list[tuple]:
    """Every location in a JSON document, so a swap can hit any field or array cell."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_in(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths_in(value, (*prefix, index))
    return found


def swap_values(document: object, swaps: list[tuple[int, object, bool]]) -> object:
    """Replace (or delete) the values at chosen locations with random JSON values."""
    for choice, value, delete in swaps:
        locations = paths_in(document)
        location = locations[choice % len(locations)]
        if not location:
            document = value
            continue
        *parents, last = location
        container = document
        for step in parents:
            container = container[step]
        if delete:
            del container[last]
        else:
            container[last] = value
    return document


swaps = st.lists(
    st.tuples(st.integers(0, 10**6), json_values, st.booleans()), min_size=1, max_size=4
)
