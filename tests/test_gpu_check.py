"""scripts/gpu_check.py, the one script a lent GPU runs, at the smoke scale on the CPU (every part, capped),
so that it still works when a GPU is next lent."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_every_part_on_the_cpu(mnist_train, tmp_cache, capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    import gpu_check

    report = gpu_check.main(["--scale", "smoke", "--device", "cpu", "--max-steps", "3", "--bench-batches", "14", "--peak-sizes", "256",
                             "--wgan-epochs", "1"])
    assert report["device"] == "cpu" and report["gpu"] is None
    assert report["throughput"]["ganlib_images_per_s"] > 0 and report["throughput"]["template_images_per_s"] > 0
    assert report["vanilla"]["generator_steps"] == 3 and report["vanilla"]["fid"] > 0
    assert report["wgan_gp"]["generator_steps"] == 3
    assert report["resume_on_cpu"]["steps_after_resume"] == 6
    assert report["seeds"]["stack_s"] > 0
    assert '"total_s"' in capsys.readouterr().out
