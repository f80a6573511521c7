"""The README's Python API example runs as written (with fewer training steps)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_example() -> str:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _api_example()
    assert "steps=360" in code
    monkeypatch.chdir(tmp_path)
    from crepetool.compat import import_torchcrepe

    infer = import_torchcrepe().infer  # the example registers a network: put torchcrepe's back after
    for attribute in ("model", "capacity"):
        if hasattr(infer, attribute):
            monkeypatch.setattr(infer, attribute, getattr(infer, attribute))
        else:
            monkeypatch.delattr(infer, attribute, raising=False)
            monkeypatch.setattr(infer, attribute, None, raising=False)
    namespace: dict = {}
    exec(compile(code.replace("steps=360", "steps=2"), str(README), "exec"), namespace)
    assert (tmp_path / "regular.safetensors").is_file()
    assert namespace["recovered"].metadata["recovery"]["steps"] == 2
    assert tuple(namespace["probabilities"].shape) == (8, 360)
    assert tuple(namespace["result"].pitch.shape) == (1, 101) and namespace["result"].context
    assert not namespace["plain"].context
    assert sum(len(frames) for frames in namespace["live"]) == 101
    theirs = namespace["f0"]  # torchcrepe's predict, through crepetool's network
    assert tuple(theirs.shape) == (1, 101) and infer.capacity == "full"
    assert (1200 * torch.log2(theirs[0, 5:-5].double() / 220)).abs().max() < 30
