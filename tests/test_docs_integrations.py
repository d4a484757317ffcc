"""docs/integrations.md promises that the e2e tests run every shell block it shows."""

import re

from e2e_helpers import DOCS, REPO, doc_block_names


def test_every_shell_block_is_tagged_for_the_e2e_tests():
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"(?:^|\n)([^\n]*)\n[ \t]*```(?:sh|bash|shell)\n", text)
    untagged = [line for line in blocks if not re.search(r"<!-- e2e: [\w.-]+ -->", line)]
    assert blocks and not untagged, f"shell blocks without an e2e tag after: {untagged}"


def test_every_tagged_block_is_run_by_an_e2e_test():
    sources = "".join(p.read_text() for p in (REPO / "tests").glob("test_e2e_*.py"))
    names = doc_block_names()
    assert len(names) == len(set(names)), "duplicate e2e tags"
    missing = [n for n in names if f'doc_block("{n}")' not in sources]
    assert not missing, f"documented but never run: {missing}"
