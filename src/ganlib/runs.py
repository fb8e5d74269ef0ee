"""Describe a run once, build it in one place, and train it or reuse it from the cache, saying which.

A run is plain data:

- :class:`Method`: how G and D are updated (the loss pair, R1, gradient penalty, weight clipping,
  unrolled lookahead, MD-GAN): everything that changes the update, and nothing else;
- :class:`RunSpec`: a readable name, the ``TrainConfig``, the method, the two networks' keywords,
  the number of training samples, and the training-time mechanisms that change the result
  (FID early stopping, a learning-rate decay, a checkpoint to start from).

:func:`build` is the only place the networks are built and seeded (from ``cfg.seed``, without
touching the caller's random state). :func:`train_or_load` trains a spec, or reloads it when its
finished checkpoint is in the cache: the file is ``<cache>/runs/<name>-<hash>.pt``, the hash covers
the whole spec and :data:`RUN_VERSION`, the checkpoint stores the spec, and a reload prints one
line that says so and how to train again (``retrain=True`` or ``GANLIB_RETRAIN=1``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from . import regularizers as R
from .callbacks import FIDEarlyStopping, SampleSnapshots, linear_lr_decay
from .config import atomic_save, cache_dir, default_device, display_path, env_flag
from .losses import get_losses
from .mdgan import MDGANLosses, mdgan_losses
from .models import Discriminator, Generator, load_weights
from .seeds import PerSeed, StackedMLP, stack
from .training import History, TrainConfig, load_checkpoint, train
from .unrolled import unrolled_g_step

RUN_VERSION = 2  # part of every cache key: bump it when a library change alters what a spec trains to

# TrainConfig fields that do not change what a run computes, so they are not part of its identity
_NOT_IDENTITY = ("device", "progress", "log_every", "checkpoint_every")


@dataclass(frozen=True)
class Method:
    """How a run updates G and D; plain data, saved with the weights."""

    loss: str = "non-saturating"  # a pair of ganlib.losses.LOSSES: 'non-saturating', 'minimax', 'wasserstein'
    r1_gamma: float = 0.0  # R1 weight gamma: adds gamma/2 E||grad D(real)||^2 (Mescheder et al. 2018)
    gp_weight: float = 0.0  # gradient-penalty weight lambda (Gulrajani et al. 2017)
    clip: float = 0.0  # clip D's weights to [-clip, clip] after each step (Arjovsky et al. 2017); 0: none
    unroll: int = 0  # k lookahead steps of D in G's update (Metz et al. 2017); 0: the plain step
    lr_unroll: float | None = None  # the lookahead's step size; None: D's learning rate
    lookahead: str = "adam"  # 'adam': D's own Adam replayed (the paper's code); 'sgd': plain steps
    mdgan: dict | None = None  # keywords of ganlib.mdgan.mdgan_losses: an MD-GAN (D outputs an embedding)
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges packs of this many samples; 1: the plain D

    def mdgan_losses(self) -> MDGANLosses | None:
        """Return the MD-GAN losses of this method, or None for the other methods."""
        return mdgan_losses(**self.mdgan) if self.mdgan is not None else None

    @property
    def d_out_dim(self) -> int:
        """Size of D's output: 1, or the MD-GAN embedding size d."""
        return int(self.mdgan.get("d", 9)) if self.mdgan is not None else 1

    def train_kwargs(self) -> dict:
        """Return the keywords of ``ganlib.train`` that make this method: d_loss, g_loss, penalty, d_constraint, g_step."""
        md = self.mdgan_losses()
        d_loss, g_loss = (md.d_loss, md.g_loss) if md is not None else get_losses(self.loss)
        penalties = ([R.r1(self.r1_gamma)] if self.r1_gamma else []) + ([R.gp_penalty(self.gp_weight)] if self.gp_weight else [])
        penalty = (lambda D, real, fake: sum(p(D, real, fake) for p in penalties)) if penalties else None
        g_step = unrolled_g_step(self.unroll, d_loss, self.lr_unroll, lookahead=self.lookahead) if self.unroll else None
        return dict(d_loss=d_loss, g_loss=g_loss, penalty=penalty, g_step=g_step,
                    d_constraint=R.clip_weights(self.clip) if self.clip else None)


@dataclass(frozen=True)
class EarlyStopping:
    """FID early stopping of a run: evaluate G every ``every`` epochs on ``n_eval`` samples, stop after ``patience``."""

    every: int = 1  # epochs between evaluations
    patience: int = 3  # evaluations without improvement before stopping
    n_eval: int = 2_000  # generated samples per FID (against the MNIST test set)
    min_delta: float = 0.0  # an improvement smaller than this does not count


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training run, as plain data (its hash is the cache key)."""

    name: str  # readable; the checkpoint's file name starts with it
    cfg: TrainConfig  # optimiser, rates, epochs, batch size, n_critic, seed, ...
    method: Method = Method()
    g_arch: dict = field(default_factory=dict)  # keywords of ganlib.Generator besides z_dim (e.g. norm='batch')
    d_arch: dict = field(default_factory=dict)  # keywords of ganlib.Discriminator (e.g. spectral_norm=True); out_dim: the method's
    n_train: int = 0  # training samples (part of the identity: a run on 512 images is another run)
    early_stopping: EarlyStopping | None = None  # FID early stopping; the best epoch is kept beside the run
    lr_decay: tuple[int, int] | None = None  # (epochs, start_epoch): rates decay linearly to 0 over epochs
    init_from: str | None = None  # a checkpoint the run starts from (e.g. the best epoch of another run)

    def identity(self) -> dict:
        """Return the plain data the cache key is made of (the spec without what does not change the result)."""
        d = dataclasses.asdict(self)
        for key in _NOT_IDENTITY:
            d["cfg"].pop(key)
        if d["method"]["pack"] == 1:  # a field added later: runs without it keep their cache keys
            d["method"].pop("pack")
        if self.init_from is not None:  # the file's name holds its own run's hash; its folder is the machine's
            d["init_from"] = Path(self.init_from).name
        return {"version": RUN_VERSION, **d}

    @property
    def path(self) -> Path:
        """Return the checkpoint path ``<cache>/runs/<name>-<hash>.pt``."""
        digest = hashlib.sha256(repr(self.identity()).encode()).hexdigest()[:12]
        return cache_dir() / "runs" / f"{self.name}-{digest}.pt"


@dataclass
class Run:
    """A trained (or reloaded) run."""

    spec: RunSpec
    G: torch.nn.Module  # in eval mode
    D: torch.nn.Module
    history: History
    path: Path  # its checkpoint
    snapshots: SampleSnapshots  # G's samples of fixed latents after every epoch
    md: MDGANLosses | None = None  # the MD-GAN losses, for MD-GAN runs
    early_stopping: FIDEarlyStopping | None = None  # its evaluations and best epoch, when the spec has one
    reused: bool = False  # True when it came from the cache
    train_seconds: float | None = None  # wall-clock seconds of its training steps (None: not recorded)

    def __getitem__(self, key):  # dict-style access (run["G"]) of the former recipes, kept for one release
        return getattr(self, key)


def build(spec: RunSpec) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Return (G, D) of ``spec``, initialised from ``spec.cfg.seed`` (the caller's random state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.cfg.seed)
        G = Generator(z_dim=spec.cfg.z_dim, **spec.g_arch)
        pack = {"pack": spec.method.pack} if spec.method.pack > 1 else {}
        D = Discriminator(**{"out_dim": spec.method.d_out_dim, **spec.d_arch, **pack})
    return G, D


def train_spec(spec: RunSpec, G, D, data: torch.Tensor, callbacks: Sequence = (), checkpoint=None) -> History:
    """Train ``G``, ``D`` (from :func:`build`) on ``data`` with the spec's config and method; returns the history.

    The global RNG (which a gradient penalty's interpolation weights use) is seeded from
    ``cfg.seed`` inside, so the result does not depend on what ran before, and restored after.
    """
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(spec.cfg.seed)
        return train(G, D, data, spec.cfg, callbacks=callbacks, checkpoint=checkpoint, **spec.method.train_kwargs())


def with_seed(spec: RunSpec, seed: int) -> RunSpec:
    """The same run with another seed (the seed is part of the config, so of the cache key)."""
    return dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, seed=int(seed)))


def build_stack(spec: RunSpec, seeds) -> tuple[StackedMLP, StackedMLP]:
    """Return (G, D) stacks of ``spec`` for ``seeds``: seed s's models are those ``build(with_seed(spec, s))`` makes."""
    seeds = tuple(int(s) for s in seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the seeds of a stack must differ, got {seeds}")
    pairs = [build(with_seed(spec, s)) for s in seeds]
    return stack([g for g, _ in pairs], seeds), stack([d for _, d in pairs], seeds)


def train_stack(spec: RunSpec, G, D, data: torch.Tensor, callbacks: Sequence = (), checkpoints=None) -> list[History]:
    """Train the stacks ``G``, ``D`` (from :func:`build_stack`) with the spec's config and method; one History per seed.

    ``data`` is shared (N, ...) or one set per seed (S, N, ...); ``checkpoints`` one path per seed.
    Seed s's run is the single run ``train_spec(with_seed(spec, s), ...)`` (tests/test_seeds.py).
    """
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        return train(G, D, data, spec.cfg, callbacks=callbacks, checkpoint=checkpoints, **spec.method.train_kwargs())


def train_or_load_seeds(spec: RunSpec, seeds, data: torch.Tensor, retrain: bool | None = None,
                        snapshots: int = 32, stack: bool | None = None) -> list[Run]:
    """:func:`train_or_load` for several seeds: one Run per seed, the missing ones trained together as one stack.

    Seed s's checkpoint is the single run's (``with_seed(spec, s).path``), so a chapter that later
    asks ``train_or_load(with_seed(spec, s), data)`` reuses it, and the other way round. Seeds whose
    runs are finished are reloaded; the rest are trained as a stack when none of them has a partial
    checkpoint (else one by one, resuming). A run with FID early stopping is trained one by one
    (its stopping epoch differs from seed to seed).

    ``stack`` None stacks on a GPU only: on a 2-core CPU a stack of 3 lab MLPs trains at 0.87x the
    images per second of the same seeds one after another (``benchmarks/bench_seeds.py``), because
    their step is arithmetic, not overhead; the toys' small MLPs gain (``run_toy_seeds``).
    """
    if stack is None:
        stack = default_device(spec.cfg.device).type == "cuda"
    seeds = tuple(int(s) for s in seeds)
    specs = [with_seed(spec, s) for s in seeds]
    if _retrain_requested(retrain):
        for sp in specs:
            for f in (sp.path, sp.path.with_suffix(".snapshots.pt"), sp.path.with_suffix(".best.pt")):
                f.unlink(missing_ok=True)

    def finished(sp):
        return sp.path.exists() and load_checkpoint(sp.path).get("finished", False)

    todo = [sp for sp in specs if not finished(sp)]
    if stack and len(todo) > 1 and spec.early_stopping is None and not any(sp.path.exists() or shorter_run(sp)
                                                                           for sp in todo):
        _check_n_train(spec, data)
        stack_seeds = tuple(sp.cfg.seed for sp in todo)
        G, D = build_stack(spec, stack_seeds)
        snaps = [SampleSnapshots(n=snapshots, seed=sp.cfg.seed, path=sp.path.with_suffix(".snapshots.pt")) for sp in todo]
        callbacks = [PerSeed(snaps)] + ([linear_lr_decay(*spec.lr_decay)] if spec.lr_decay is not None else [])
        if spec.init_from is not None:
            raise ValueError("a stack of seeds cannot start from init_from: train these seeds one by one")
        print(f"training {spec.name} for seeds {stack_seeds} as one stack; each seed's run is then read from its checkpoint")
        train_stack(spec, G, D, data, callbacks, checkpoints=[sp.path for sp in todo])
        ckpts = [(sp, load_checkpoint(sp.path)) for sp in todo if sp.path.exists()]
        final = max((c["step"] for _, c in ckpts), default=None)
        for sp, ckpt in ckpts:  # a diverged seed keeps its last good checkpoint, unfinished: it resumes alone below
            if ckpt["step"] == final:
                ckpt.update(finished=True, run=sp.identity(), early_stopping=None)
                atomic_save(ckpt, sp.path)
    runs = [train_or_load(sp, data, retrain=False, snapshots=snapshots) for sp in specs]
    for run in runs:
        run.reused = run.reused and all(run.spec.cfg.seed != sp.cfg.seed for sp in todo)
    return runs


def shorter_run(spec: RunSpec) -> RunSpec | None:
    """The longest finished run in the cache that is ``spec`` with fewer epochs, or None.

    Its checkpoint is where ``spec`` stands after that many epochs (training resumes exactly), so
    ``train_or_load`` goes on from it: a chapter that trains 15 epochs after another chapter trained
    the same run for 5 trains 10. Not for runs whose first epochs depend on the total (learning-rate
    decay, early stopping, a step limit) or that start from another checkpoint.
    """
    if spec.lr_decay is not None or spec.early_stopping is not None or spec.init_from is not None \
            or spec.cfg.max_steps is not None:
        return None
    for epochs in range(spec.cfg.epochs - 1, 0, -1):
        short = dataclasses.replace(spec, cfg=dataclasses.replace(spec.cfg, epochs=epochs))
        if short.path.exists() and load_checkpoint(short.path).get("finished", False):
            return short
    return None


def _continue_from(short: RunSpec, spec: RunSpec) -> None:
    """Copy the finished run ``short`` to ``spec``'s files as an unfinished checkpoint that resumes to ``spec``'s epochs."""
    ckpt = load_checkpoint(short.path)
    for key in ("finished", "run", "early_stopping"):
        ckpt.pop(key, None)
    snaps = short.path.with_suffix(".snapshots.pt")
    if snaps.exists():
        atomic_save(torch.load(snaps, weights_only=False), spec.path.with_suffix(".snapshots.pt"))
    atomic_save(ckpt, spec.path)
    done = f"{short.cfg.epochs} epoch" + "s" * (short.cfg.epochs != 1)
    print(f"{spec.name}: going on from the same run's first {done} ({display_path(short.path)}) to {spec.cfg.epochs}")


def _check_n_train(spec: RunSpec, data: torch.Tensor) -> None:
    if data.shape[0] != spec.n_train:
        raise ValueError(f"spec {spec.name!r} describes {spec.n_train} training samples but data has {data.shape[0]}: "
                         "build the spec with n_train=data.shape[0]")


def _retrain_requested(retrain) -> bool:
    if retrain is not None:
        return bool(retrain)
    return env_flag("GANLIB_RETRAIN")


def train_or_load(spec: RunSpec, data: torch.Tensor, retrain: bool | None = None, snapshots: int = 32,
                  evaluate_fn=None) -> Run:
    """Train ``spec`` on ``data`` (N, ...), or reload its finished checkpoint; returns a :class:`Run`.

    An interrupted run resumes from its last checkpoint. ``retrain`` (default: ``$GANLIB_RETRAIN``)
    deletes the cached run first. ``snapshots`` fixed-latent samples are kept after every epoch.
    ``evaluate_fn(G) -> {'fid': ...}`` scores the early stopping (default: ``ganlib.evaluate`` on
    ``early_stopping.n_eval`` samples against the MNIST test set).
    """
    _check_n_train(spec, data)
    path = spec.path
    files = [path, path.with_suffix(".snapshots.pt"), path.with_suffix(".best.pt")]
    retrain = _retrain_requested(retrain)
    if retrain:
        for f in files:
            f.unlink(missing_ok=True)
    if not path.exists() and not retrain:  # retraining trains from scratch
        shorter = shorter_run(spec)
        if shorter is not None:  # its first epochs are this run's: go on from there
            _continue_from(shorter, spec)
    G, D = build(spec)
    snaps = SampleSnapshots(n=snapshots, seed=spec.cfg.seed, path=files[1])
    stopper = None
    callbacks = [snaps]
    if spec.early_stopping is not None:
        es = spec.early_stopping
        if evaluate_fn is None:
            from .metrics import evaluate  # on use: `import ganlib` (and the CLI) start without the metric suite

            evaluate_fn = lambda G: evaluate(G, n=es.n_eval, seed=spec.cfg.seed)  # noqa: E731
        stopper = FIDEarlyStopping(evaluate_fn, every=es.every, patience=es.patience, path=files[2], min_delta=es.min_delta)
        callbacks.append(stopper)
    if spec.lr_decay is not None:
        callbacks.append(linear_lr_decay(*spec.lr_decay))

    ckpt = load_checkpoint(path) if path.exists() else None
    reused = ckpt is not None and ckpt.get("finished", False)
    if reused:
        load_weights(G, ckpt["G"])
        load_weights(D, ckpt["D"])
        history = History(**ckpt["history"])
        if stopper is not None and ckpt.get("early_stopping"):
            stopper.load_log(ckpt["early_stopping"])
        print(f"reusing {spec.name}: {display_path(path)} ({history.step[-1] if history.step else 0} generator steps); "
              "retrain=True or GANLIB_RETRAIN=1 trains it again")
    else:
        if spec.init_from is not None and ckpt is None:
            atomic_save(Path(spec.init_from), path)
        history = train_spec(spec, G, D, data, callbacks, checkpoint=path)
        ckpt = load_checkpoint(path)
        ckpt.update(finished=True, run=spec.identity(), early_stopping=stopper.log() if stopper else None)
        atomic_save(ckpt, path)
    seconds = ckpt.get("train_seconds")
    seconds = None if seconds is None or math.isnan(seconds) else float(seconds)
    return Run(spec, G.eval(), D.eval(), history, path, snaps, spec.method.mdgan_losses(), stopper, reused, seconds)
