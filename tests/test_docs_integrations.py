"""The docs promise that tests run the shell blocks they show: every block of the
integration pages is tagged `<!-- e2e: name -->`, and every tag anywhere is run."""

import re

import pytest
from e2e_helpers import DOCS, REPO, doc_block_names

# Pages whose every shell block is run; the README tags the blocks it has tests for.
FULLY_TESTED = [DOCS, REPO / "docs" / "flux.md"]
TAGGED = [REPO / "README.md", *FULLY_TESTED]


@pytest.mark.parametrize("doc", FULLY_TESTED, ids=lambda p: p.name)
def test_every_shell_block_is_tagged_for_the_e2e_tests(doc):
    text = doc.read_text(encoding="utf-8")
    blocks = re.findall(r"(?:^|\n)([^\n]*)\n[ \t]*```(?:sh|bash|shell)\n", text)
    untagged = [line for line in blocks if not re.search(r"<!-- e2e: [\w.-]+ -->", line)]
    assert blocks and not untagged, f"shell blocks without an e2e tag after: {untagged}"


@pytest.mark.parametrize("doc", TAGGED, ids=lambda p: p.name)
def test_every_tagged_block_is_run_by_a_test(doc):
    sources = "".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))
    names = doc_block_names(doc)
    assert len(names) == len(set(names)), "duplicate e2e tags"
    missing = [n for n in names if f'doc_block("{n}"' not in sources]
    assert not missing, f"documented but never run: {missing}"
