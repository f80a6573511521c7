"""The CLI: help without torch, completion scripts, inspect/prune/convert and their errors."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from crepetool.cli.completion import SHELLS, completion_script
from crepetool.errors import UserInputError
from crepetool.network import weights as weights_io
from helpers import ROOT


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.mark.parametrize(
    "entry",
    [
        "from crepetool.cli import main; main(['--help'])",
        "import runpy, sys; sys.argv=['crepetool','--help']; runpy.run_module('crepetool', run_name='__main__')",
    ],
)
def test_help_does_not_import_torch(entry: str) -> None:
    code = f"import sys\ntry:\n    {entry}\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules, 'torchcrepe' in sys.modules)"
    result = _python(code)
    assert "Usage" in result.stdout
    assert result.stdout.strip().endswith("False False"), result.stdout


def _commands() -> dict:
    import typer.main

    from crepetool.cli import create_app

    return typer.main.get_command(create_app()).commands


def test_every_command_has_help(cli) -> None:
    commands = _commands()
    assert sorted(commands) == sorted(
        [
            "inspect",
            "prune",
            "finetune",
            "average",
            "convert",
            "export",
            "import-keras",
            "predict",
            "stream",
            "verify",
            "evaluate",
            "signals",
        ]
    )
    for command in commands:
        code, out, _ = cli(command, "--help")
        assert code == 0 and f"Usage: crepetool {command}" in out, command


def _choices(command: str, option: str) -> tuple[str, ...]:
    """The choices the CLI shows for ``--option`` of ``command`` in its help (what a user sees)."""
    import re

    from crepetool.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as text:
        main([command, "--help"])
    flat = " ".join(text.getvalue().split())
    found = re.search(rf"--{option} <(?:list\[)?([a-z0-9|-]+)\]?>", flat)
    assert found, (command, option, flat)
    return tuple(found.group(1).split("|"))


def test_every_cli_choice_list_is_the_librarys() -> None:
    from crepetool import names
    from crepetool.prediction import decode, outputs
    from crepetool.training import pruning, recovery
    from crepetool.training.pruning import prune

    assert _choices("predict", "decoder") == tuple(decode.DECODERS) == names.DECODERS
    assert _choices("predict", "format") == names.FORMATS
    assert tuple(outputs.FORMATS) == (*names.FORMATS, names.PLOT_FORMAT)  # --plot adds the picture
    assert _choices("predict", "resampler") == names.RESAMPLERS
    assert _choices("predict", "engine") == names.ENGINES
    assert _choices("predict", "conv") == names.CONV_MODES
    for command in ("predict", "verify", "evaluate"):
        assert _choices(command, "precision") == names.PRECISIONS
    assert _choices("prune", "criterion") == tuple(pruning.CRITERIA) == names.CRITERIA
    assert _choices("prune", "recover") == names.RECOVERY_METHODS
    bare = prune("tiny", 1)
    assert recovery.recover(bare, method="none") is bare  # every name the CLI offers is one recover takes
    with pytest.raises(UserInputError, match="distill, bn, none"):
        recovery.recover(bare, method="magic")


def test_completion_scripts_are_fresh() -> None:
    for shell, name in SHELLS.items():
        committed = (ROOT / "completions" / name).read_text()
        assert committed == completion_script(shell), (
            f"completions/{name} is stale: python -m crepetool.cli.completion"
        )


def test_completion_offers_presets_without_torch() -> None:
    result = _python(
        "import sys\nfrom crepetool.cli import main\nmain([])\nprint('torch' in sys.modules)",
        _CREPETOOL_COMPLETE="complete_bash",
        COMP_WORDS="crepetool prune --capacity reg",
        COMP_CWORD="3",
    )
    assert "regular" in result.stdout
    assert "True" not in result.stdout


def test_prune_then_inspect_json(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("prune", "--capacity", "12", "--recover", "none", "--source", "full")
    assert code == 0, err
    assert (tmp_path / "regular.pth").is_file()
    code, out, _ = cli("inspect", "regular.pth", "--json")
    info = json.loads(out)
    assert info["capacity"] == 12 and info["preset"] == "regular"
    assert [layer["name"] for layer in info["layers"]] == [*(f"conv{i}" for i in range(1, 7)), "classifier"]
    assert [layer["out_channels"] for layer in info["layers"][:6]] == [384, 48, 48, 48, 96, 192]
    assert info["layers"][6]["in_features"] == 768
    assert info["parameters"] == sum(layer["parameters"] for layer in info["layers"])
    assert info["metadata"]["criterion"] == "l1" and info["metadata"]["source"]["name"] == "full"
    code, out, _ = cli("inspect", "regular.pth")
    assert code == 0 and "12/32 (regular)" in out


@pytest.mark.slow
def test_source_auto_starts_from_the_smallest_installed_trained_model(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crepetool.network import keras
    from crepetool.network.resolver import trained_source

    def name(capacity: int) -> str:
        return trained_source(capacity).provenance.name

    assert name(4) == "tiny" and name(13) in (
        "official-medium",
        "official-large",
        "full",
    )
    assert name(25) == "full"
    code, _, err = cli("prune", "-k", "3", "--recover", "none", "-o", tmp_path / "three.pth")  # auto: tiny
    assert code == 0, err
    source = weights_io.load(tmp_path / "three.pth").metadata["source"]
    assert source["name"] == "tiny" and source["capacity"] == 4 and source["chosen_by"] == "auto"
    monkeypatch.setattr(keras, "package_name", lambda model: f"no-such-package-crepe-{model}")
    assert name(5) == "full"  # no official small/medium/large here: full
    assert trained_source(12).weights.capacity == 32


def test_default_names_never_look_like_trained_models(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("prune", "-k", "tiny", "--recover", "none", "--source", "tiny")[0] == 0
    assert (tmp_path / "crepe-4.pth").is_file()
    assert cli("prune", "-k", "3", "--recover", "none", "--source", "tiny", "-o", "three.safetensors")[0] == 0
    assert weights_io.load(tmp_path / "three.safetensors").capacity == 3


@pytest.mark.slow
def test_prune_32_equals_full(cli, tmp_path: Path, full_weights) -> None:
    out = tmp_path / "crepe-32.pth"
    assert cli("prune", "--capacity", "32", "--recover", "none", "--output", out)[0] == 0
    pruned = weights_io.load(out)
    assert all(torch.equal(pruned.state_dict[k], v) for k, v in full_weights.state_dict.items())


def test_convert_round_trip(cli, tmp_path: Path) -> None:
    assert cli("prune", "-k", "2", "--source", "tiny", "--recover", "none", "-o", tmp_path / "a.pth")[0] == 0
    assert cli("convert", tmp_path / "a.pth", tmp_path / "a.safetensors")[0] == 0
    assert cli("convert", tmp_path / "a.safetensors", tmp_path / "b.pth")[0] == 0
    a, b = weights_io.load(tmp_path / "a.pth"), weights_io.load(tmp_path / "b.pth")
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert a.metadata["kept_channels"] == b.metadata["kept_channels"]
    code, _, err = cli("convert", tmp_path / "a.pth", tmp_path / "b.pth")
    assert code == 2 and "already exists" in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """--debug lets the error through to Python, which prints its traceback."""
    from crepetool.cli import main
    from crepetool.errors import WeightsError

    with pytest.raises(WeightsError, match=r"missing\.pth"):
        main(["--debug", "inspect", str(tmp_path / "missing.pth")])


@pytest.mark.slow
def test_torchcrepe_imports_whatever_torchaudio_does(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "torchaudio").mkdir(parents=True)
    (broken / "torchaudio" / "__init__.py").write_text("raise OSError('cannot load _torchaudio.so')\n")
    code = (
        "import sys\n{setup}\nfrom crepetool.compat import import_torchcrepe\n"
        "tc = import_torchcrepe()\nprint(tc.Crepe('tiny').classifier.in_features)\n"
        "try:\n    sys.modules['torchaudio'].load\nexcept ImportError as e:\n    print('stand-in:', e)\n"
    )
    for setup in (f"sys.path.insert(0, {str(broken)!r})", "sys.modules['torchaudio'] = None"):
        result = _python(code.format(setup=setup))
        assert result.stdout.startswith("256"), result.stderr
        assert "stand-in: torchaudio is unavailable" in result.stdout


def _reporting_runs(tmp_path: Path, flag: str) -> dict[str, list]:
    """The long-running commands, each with ``flag``, in an order where each finds what it reads:
    two quick prunes of one cut (``a.pth``, ``b.pth``), a finetune, their average, evaluate, and
    predict on a 0.5 s tone."""
    wav = tmp_path / "tone.wav"
    soundfile.write(str(wav), (0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)).astype(np.float32), 16000)
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    quick = ["--source", "tiny", "--teacher", "tiny", "--steps", "1", flag]
    return {
        "prune": ["prune", "-k", "2", *quick, "-o", a],
        "prune b": ["prune", "-k", "2", *quick, "--seed", "1", "-o", b],
        "finetune": ["finetune", a, "--steps", "1", "--teacher", "tiny", flag, "-o", tmp_path / "c.pth"],
        "average": ["average", a, b, "-o", tmp_path / "mean.pth", flag],
        "evaluate": ["evaluate", "tiny", flag],
        "predict": ["predict", wav, "-w", "tiny", "-o", tmp_path / "out", flag],
    }


@pytest.mark.slow
def test_every_reporting_command_prints_one_json_object(cli, tmp_path: Path) -> None:
    """--json on each command that reports: stdout parses as one JSON object, with the fields a
    script reads; nothing else on stdout (the progress and notes go to stderr)."""
    a = tmp_path / "a.pth"
    runs = _reporting_runs(tmp_path, "--json")
    runs |= {"inspect": ["inspect", a, "--json"], "verify": ["verify", "tiny", "--json"]}
    results = {}
    for name, args in runs.items():
        code, out, err = cli(*args)
        assert code == 0, (name, err)
        results[name] = json.loads(out)
        assert isinstance(results[name], dict), name
    assert results["prune"]["path"] == str(a) and results["prune"]["after"]["capacity"] == 2
    assert results["finetune"]["after"]["capacity"] == 2
    assert results["average"]["path"] == str(tmp_path / "mean.pth")
    assert results["inspect"]["capacity"] == 2
    assert results["verify"]["passed"] is True
    assert results["evaluate"]["models"][0]["capacity"] == 4
    assert results["predict"]["done"] == 1


@pytest.mark.slow
def test_quiet_prints_nothing_on_success(cli, tmp_path: Path) -> None:
    """--quiet on the long-running commands: no progress, table or note on either stream; a
    failure still says its one line."""
    a = tmp_path / "a.pth"
    runs = _reporting_runs(tmp_path, "--quiet")
    for name, args in runs.items():
        assert cli(*args) == (0, "", ""), name
    assert (tmp_path / "out" / "tone.f0.csv").is_file() and (tmp_path / "mean.pth").is_file()
    code, out, err = cli("predict", tmp_path / "missing.wav", "-w", "tiny", "--quiet")
    assert code != 0 and out == "" and err.count("\n") == 1 and "missing.wav" in err
    # the next command is not quiet
    code, out, _ = cli("inspect", a)
    assert code == 0 and "capacity" in out


def test_debug_sets_no_environment_variable(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """--debug shows the traceback of that call only: nothing is left for later calls or children."""
    from crepetool.names import DEBUG_ENV

    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with pytest.raises(Exception, match="no such file"):
        cli("--debug", "inspect", "missing.pth")
    assert DEBUG_ENV not in os.environ
    code, _, err = cli("inspect", "missing.pth")
    assert code == 2 and "Traceback" not in err and err.startswith("crepetool: error: missing.pth")
