"""Shell completion as the README sets it up, in the real bash, zsh and fish (installed by
`make debs`): each documented line is run in its shell, which then completes."""

from __future__ import annotations

import subprocess

import pytest
from e2e_helpers import REPO, VENV_BIN, doc_block

README = REPO / "README.md"


def run_shell(argv, home, cwd=None) -> str:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd or home, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def bash_complete(tmp_path, *words: str) -> list[str]:
    """COMPREPLY of the documented bash completion for the command line `words`, called
    as bash calls it (command, current word, previous word)."""
    script = (doc_block("completion-bash", README)
              + f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}\n"
              + f"_cnpg_render_completion {words[0]} {words[-1]} {words[-2]}\n"
              + 'printf "%s\\n" "${COMPREPLY[@]}"\n')
    return run_shell(["bash", "-e", "-c", script], tmp_path).split()


def test_bash_completes_commands(tmp_path):
    assert bash_complete(tmp_path, "cnpg-render", "pl") == ["plan"]
    assert {"render", "plan", "bump", "argocd-generate", "last-error"} <= set(
        bash_complete(tmp_path, "cnpg-render", "''"))


def test_bash_completes_options_of_a_command(tmp_path):
    assert bash_complete(tmp_path, "cnpg-render", "render", "--ch") == ["--check-store"]


def test_zsh_registers_the_completion_function(tmp_path):
    script = ("autoload -Uz compinit && compinit -u -D\n" + doc_block("completion-zsh", README)
              + "print -r -- $_comps[cnpg-render]\n")
    assert run_shell(["zsh", "-f", "-c", script], tmp_path) == "_cnpg_render_completion\n"


def test_fish_completes_from_the_documented_file(tmp_path):
    (tmp_path / ".config" / "fish" / "completions").mkdir(parents=True)
    run_shell(["fish", "--no-config", "-c", doc_block("completion-fish", README)], tmp_path)
    assert (tmp_path / ".config" / "fish" / "completions" / "cnpg-render.fish").is_file()
    out = run_shell(["fish", "-c", "complete -C 'cnpg-render pl'"], tmp_path)
    assert [line.split("\t")[0] for line in out.splitlines()] == ["plan"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_offers_file_names_for_inputs(tmp_path, shell):
    """click marks the answer as a file name; the shell script then lists files."""
    env = {"COMP_WORDS": "cnpg-render render --overlay ov", "_CNPG_RENDER_COMPLETE": f"{shell}_complete",
           "COMP_CWORD": "ov" if shell == "fish" else "3"}
    proc = subprocess.run([VENV_BIN / "cnpg-render"], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and "file" in proc.stdout.split(",")[0].split("\n")[0]
