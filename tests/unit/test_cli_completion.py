"""``portkit completion bash|zsh|fish``: scripts generated from the parser that really complete."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from portkit.cli import build_parser, main
from portkit.cli._completion import generate, model

BASH = shutil.which("bash")


def script(shell: str, tmp_path: Path) -> Path:
    path = tmp_path / f"portkit.{shell}"
    path.write_text(generate(build_parser(), shell))
    return path


def bash_complete(tmp_path: Path, *words: str) -> list[str]:
    """What the bash completion offers for the command line ``words`` (the last one is being completed)."""
    assert BASH is not None
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source '{script('bash', tmp_path)}'\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); COMPREPLY=(); _portkit\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run([BASH, "--norc", "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_completes_commands_flags_and_values(tmp_path: Path) -> None:
    (tmp_path / "bundle-dir").mkdir()
    assert "translate" in bash_complete(tmp_path, "portkit", "")
    assert bash_complete(tmp_path, "portkit", "tr") == ["translate"]
    assert bash_complete(tmp_path, "portkit", "local", "") == ["down", "status", "up"]
    assert "--output-dir" in bash_complete(tmp_path, "portkit", "translate", "--")
    assert bash_complete(tmp_path, "portkit", "--debug", "lint", "x", "-o", "") == ["text", "json", "yaml"]
    assert bash_complete(tmp_path, "portkit", "translate", "--to", "io") == ["ionos"]
    assert bash_complete(tmp_path, "portkit", "apply", "--dry-run", "=", "") == ["server", "client", "none"]
    assert bash_complete(tmp_path, "portkit", "apply", "--dry-run=c") == ["client"]
    assert bash_complete(tmp_path, "portkit", "translate", "-d", "bundle") == ["bundle-dir"]
    assert bash_complete(tmp_path, "portkit", "lint", "bun") == ["bundle-dir"]  # inputs complete file names
    assert bash_complete(tmp_path, "portkit", "completion", "") == ["bash", "zsh", "fish"]
    # the global flags are offered after the command too
    assert {"--debug", "--no-color", "--log-format"} <= set(bash_complete(tmp_path, "portkit", "plan", "--"))


def test_the_model_has_every_command_and_no_hidden_flag() -> None:
    commands = {c.path: c for c in model(build_parser())}
    assert ("local", "up") in commands and ("bundle", "upgrade") in commands
    export_flags = {n for f in commands[("export",)].flags for n in f.names}
    assert {"-d", "--output-dir", "-o", "--output", "--debug"} <= export_flags
    assert not {"--progress", "--output-format", "--format"} & export_flags  # deprecated spellings stay hidden


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_is_valid_for_its_shell(shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    text = capsys.readouterr().out
    assert text == generate(build_parser(), shell)
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed: only generated")
    path = tmp_path / f"portkit.{shell}"
    path.write_text(text)
    proc = subprocess.run([binary, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_through_its_own_machinery(tmp_path: Path) -> None:
    path = script("fish", tmp_path)
    program = f"source '{path}'; complete -C 'portkit translate --to io'; complete -C 'portkit local '"
    proc = subprocess.run(["fish", "--no-config", "-c", program], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    offered = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert offered == ["ionos", "down", "status", "up"]
