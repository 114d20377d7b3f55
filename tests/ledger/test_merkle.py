"""The Merkle tree and its proofs, against RFC 9162 and its reference vectors.

Two ways to the root are compared (the recursive definition and the incremental
frontier), and every proof the generator makes is checked by the pure verifier,
while a proof for a wrong leaf, position, size or root is refused."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cogov.ledger import merkle
from cogov.ledger.merkle import Frontier, leaf_hash, root_iterative, root_recursive
from cogov.ledger.proofs import (
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# The leaves and roots of the RFC 6962 reference tests (certificate-transparency,
# transparency-dev/merkle): MTH of the first n of these leaves.
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves_of(size: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(size)]


def all_nodes(leaves: list[bytes]) -> dict[merkle.NodeId, bytes]:
    """Every perfect subtree hash, computed the slow way from the leaves."""
    nodes: dict[merkle.NodeId, bytes] = {}
    level, row = 0, leaves
    while row:
        for index, digest in enumerate(row):
            nodes[(level, index)] = digest
        row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    return nodes


def inclusion(leaves: list[bytes], index: int, size: int) -> list[bytes]:
    nodes = all_nodes(leaves[:size])
    return [merkle.range_root(s, e, nodes) for s, e in merkle.inclusion_ranges(index, size)]


def consistency(leaves: list[bytes], old: int, new: int) -> list[bytes]:
    nodes = all_nodes(leaves[:new])
    return [merkle.range_root(s, e, nodes) for s, e in merkle.consistency_ranges(old, new)]


class TestRoot:
    @pytest.mark.parametrize("size", range(1, 9))
    def test_matches_the_rfc_reference_vectors(self, size: int) -> None:
        hashed = [leaf_hash(data) for data in RFC_LEAVES[:size]]
        assert root_recursive(hashed).hex() == RFC_ROOTS[size - 1]
        assert root_iterative(hashed).hex() == RFC_ROOTS[size - 1]

    def test_empty_tree_is_the_hash_of_nothing(self) -> None:
        assert root_iterative([]) == root_recursive([]) == hashlib.sha256(b"").digest()

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.binary(max_size=8), max_size=300))
    def test_incremental_equals_recursive_definition(self, data: list[bytes]) -> None:
        leaves = [leaf_hash(item) for item in data]
        assert root_iterative(leaves) == root_recursive(leaves)

    @settings(max_examples=40, deadline=None)
    @given(st.integers(min_value=0, max_value=300))
    def test_frontier_gives_every_prefix_root_on_the_way(self, size: int) -> None:
        leaves = leaves_of(size)
        frontier = Frontier()
        for count, leaf in enumerate(leaves, start=1):
            frontier.push(leaf)
            if count % 17 == 0 or count == size:
                assert frontier.root() == root_recursive(leaves[:count])

    def test_range_root_and_frontier_agree_for_any_stored_decomposition(self) -> None:
        leaves = leaves_of(77)
        nodes = all_nodes(leaves)
        for size in range(1, 78):
            restored = Frontier(size, [nodes[n] for n in merkle.frontier_nodes(size)])
            assert (
                restored.root()
                == merkle.range_root(0, size, nodes)
                == root_recursive(leaves[:size])
            )

    def test_push_collect_emits_exactly_the_perfect_subtrees(self) -> None:
        leaves = leaves_of(45)
        completed: list[tuple[int, int, bytes]] = []
        frontier = Frontier()
        for leaf in leaves:
            frontier.push_collect(leaf, completed)
        expected = {node: h for node, h in all_nodes(leaves).items() if node[0] >= 1}
        assert {(level, index): h for level, index, h in completed} == expected
        assert len(completed) == len(expected)

    def test_a_frontier_needs_one_hash_per_bit_of_its_size(self) -> None:
        with pytest.raises(ValueError, match="size 5 has 2 hashes"):
            Frontier(5, [b"x" * 32])


class TestInclusionProofs:
    @pytest.mark.parametrize("size", range(1, 34))
    def test_every_leaf_of_small_trees_proves(self, size: int) -> None:
        leaves = leaves_of(size)
        root = root_recursive(leaves)
        for index in range(size):
            proof = inclusion(leaves, index, size)
            assert verify_inclusion(leaves[index], index, size, proof, root)

    @settings(max_examples=80, deadline=None)
    @given(st.data())
    def test_random_sizes_prove_and_wrong_claims_fail(self, data: st.DataObject) -> None:
        size = data.draw(st.integers(min_value=1, max_value=600), label="size")
        index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
        leaves = leaves_of(size)
        root = root_recursive(leaves)
        proof = inclusion(leaves, index, size)
        assert verify_inclusion(leaves[index], index, size, proof, root)
        assert len(proof) <= size.bit_length()
        # A wrong leaf, a wrong position, a wrong size, a wrong root: all refused.
        assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, root)
        if size > 1:
            other = data.draw(
                st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index)
            )
            assert not verify_inclusion(leaves[index], other, size, proof, root)
        # A proof only binds the size together with that size's root (as a signed
        # checkpoint does): against a different size's real root it fails.
        wrong_size = data.draw(
            st.integers(min_value=index + 1, max_value=700).filter(lambda n: n != size), label="n"
        )
        wrong_root = root_recursive(leaves_of(wrong_size))
        assert not verify_inclusion(leaves[index], index, wrong_size, proof, wrong_root)
        assert not verify_inclusion(leaves[index], index, size, proof, leaf_hash(b"root"))
        if proof:
            flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not verify_inclusion(leaves[index], index, size, flipped, root)
            assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
        assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)

    def test_malformed_input_is_refused_not_raised(self) -> None:
        leaf = leaf_hash(b"a")
        assert root_from_inclusion_proof(leaf, 0, 0, []) is None
        assert root_from_inclusion_proof(leaf, -1, 3, []) is None
        assert root_from_inclusion_proof(leaf, 0, 2, [b"short"]) is None
        assert not verify_inclusion(b"short", 0, 1, [], b"short")

    def test_ranges_outside_the_tree_are_refused(self) -> None:
        with pytest.raises(ValueError, match="not in a tree of size 3"):
            merkle.inclusion_ranges(3, 3)


class TestConsistencyProofs:
    @pytest.mark.parametrize("new", range(1, 26))
    def test_every_prefix_of_small_trees_is_consistent(self, new: int) -> None:
        leaves = leaves_of(new)
        new_root = root_recursive(leaves)
        for old in range(0, new + 1):
            proof = consistency(leaves, old, new)
            old_root = root_recursive(leaves[:old])
            assert verify_consistency(old, new, old_root, new_root, proof), (old, new)

    @settings(max_examples=80, deadline=None)
    @given(st.data())
    def test_random_sizes_prove_and_wrong_claims_fail(self, data: st.DataObject) -> None:
        new = data.draw(st.integers(min_value=2, max_value=600), label="new")
        old = data.draw(st.integers(min_value=1, max_value=new - 1), label="old")
        leaves = leaves_of(new)
        old_root, new_root = root_recursive(leaves[:old]), root_recursive(leaves)
        proof = consistency(leaves, old, new)
        assert verify_consistency(old, new, old_root, new_root, proof)
        # A history that differs anywhere in the old part is not consistent.
        changed = list(leaves)
        changed[data.draw(st.integers(min_value=0, max_value=old - 1), label="changed")] = (
            leaf_hash(b"rewritten")
        )
        assert not verify_consistency(old, new, root_recursive(changed[:old]), new_root, proof)
        assert not verify_consistency(old, new, old_root, root_recursive(changed), proof)
        other_old = data.draw(
            st.integers(min_value=1, max_value=new - 1).filter(lambda n: n != old), label="o"
        )
        other_root = root_recursive(leaves[:other_old])
        assert not verify_consistency(other_old, new, other_root, new_root, proof)
        bigger = leaves + leaves_of(1, salt=9)
        assert not verify_consistency(old, new + 1, old_root, root_recursive(bigger), proof)
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
        assert not verify_consistency(old, new, old_root, new_root, [])

    def test_equal_and_empty_trees(self) -> None:
        leaves = leaves_of(5)
        root = root_recursive(leaves)
        assert verify_consistency(5, 5, root, root, [])
        assert not verify_consistency(5, 5, root, leaf_hash(b"x"), [])
        assert verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])
        assert not verify_consistency(6, 5, root, root, [])


class TestFrontierExtend:
    @settings(max_examples=30, deadline=None)
    @given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
    def test_extend_equals_pushing_one_by_one(self, first: int, second: int) -> None:
        leaves = leaves_of(first + second)
        one, many = Frontier(), Frontier()
        for leaf in leaves:
            one.push(leaf)
        many.extend(leaves[:first])
        many.extend(leaves[first:])
        assert (many.size, many.hashes, many.root()) == (one.size, one.hashes, one.root())
