"""Weight averaging: the mean of several recoveries of one cut, as a function, in ``recover``
(``runs``) and as ``crepetool average``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crepetool.network.weights import load
from crepetool.training.averaging import average, average_weights
from crepetool.training.pruning import prune
from crepetool.training.recovery import recover


def test_average_is_the_mean_of_every_float_tensor_and_keeps_integer_buffers() -> None:
    cut = prune("tiny", 2).state_dict
    others = [{k: v + i if v.is_floating_point() else v + 5 * i for k, v in cut.items()} for i in (1, 2)]
    mean = average([cut, *others])
    for key, tensor in cut.items():
        if tensor.is_floating_point():
            expected = (tensor.double() + others[0][key].double() + others[1][key].double()) / 3
            assert mean[key].dtype == tensor.dtype and torch.equal(mean[key], expected.to(tensor.dtype))
        else:  # num_batches_tracked: the first's, not a mean
            assert torch.equal(mean[key], tensor)
    assert torch.equal(average([cut])["conv2.weight"], cut["conv2.weight"])


def test_average_refuses_state_dicts_of_other_shapes_or_tensors() -> None:
    two, three = prune("tiny", 2).state_dict, prune("tiny", 3).state_dict
    with pytest.raises(ValueError, match="shape"):
        average([two, three])
    with pytest.raises(ValueError, match="other tensors"):
        average([two, {k: v for k, v in two.items() if k != "classifier.bias"}])
    with pytest.raises(ValueError, match="nothing"):
        average([])
    with pytest.raises(ValueError, match="is 3/32"):
        average_weights([prune("tiny", 2), prune("tiny", 3)])
    with pytest.raises(ValueError, match="cut differently"):
        average_weights([prune("tiny", 2), prune("tiny", 2, "random")])


QUICK = {"steps": 2, "teacher": "tiny", "measure": False, "calibration_count": 64}


@pytest.mark.slow
def test_recover_runs_average_one_recovery_per_seed() -> None:
    """``runs=2`` from seed 3 is the mean of the recoveries at seeds 3 and 4, bit for bit."""
    bare = prune("tiny", 2)
    seeds = [recover(bare, seed=s, **QUICK) for s in (3, 4)]
    assert not torch.equal(seeds[0].state_dict["conv2.weight"], seeds[1].state_dict["conv2.weight"])
    steps_heard = []
    both = recover(
        bare, seed=3, runs=2, progress=lambda s, total, *_: steps_heard.append((s, total)), **QUICK
    )
    expected = average([w.state_dict for w in seeds])
    assert both.state_dict.keys() == expected.keys()
    assert all(torch.equal(both.state_dict[k], expected[k]) for k in expected)
    record = both.metadata["recovery"]
    assert record["runs"] == 2 and record["seeds"] == [3, 4] and record["steps"] == [2, 2]
    assert steps_heard == [(1, 4), (2, 4), (3, 4), (4, 4)]  # one bar across both runs
    with pytest.raises(ValueError, match="runs"):
        recover(bare, runs=0, **QUICK)


@pytest.mark.slow
def test_average_cli_and_prune_runs(cli, tmp_path: Path) -> None:
    common = "prune -k 2 --source tiny --teacher tiny --steps 2".split()
    for seed in (0, 1):
        code, _, err = cli(*common, "--seed", str(seed), "-o", tmp_path / f"s{seed}.pth")
        assert code == 0, err
    code, _, err = cli("average", tmp_path / "s0.pth", tmp_path / "s1.pth", "-o", tmp_path / "mean.pth")
    assert code == 0, err
    mean = load(tmp_path / "mean.pth")
    expected = average([load(tmp_path / f"s{s}.pth").state_dict for s in (0, 1)])
    assert all(torch.equal(mean.state_dict[k], expected[k]) for k in expected)
    assert mean.metadata["recovery"]["method"] == "average"
    assert [r["seed"] for r in mean.metadata["recovery"]["averaged"]] == [0, 1]
    code, _, err = cli(*common, "--runs", "2", "-o", tmp_path / "runs.pth")
    assert code == 0, err
    runs = load(tmp_path / "runs.pth")
    assert runs.metadata["recovery"]["seeds"] == [0, 1]
    # prune's own calibration and the CLI's measured recovery: the same mean as averaging the files
    assert all(torch.equal(runs.state_dict[k], expected[k]) for k in expected)
    code, _, err = cli("average", tmp_path / "s0.pth", "-o", tmp_path / "one.pth")
    assert code == 2 and "two models or more" in err and not (tmp_path / "one.pth").exists()
