"""Training engine: ppgan's Trainer with exact resume, per-iteration seeding and atomic checkpoints.

Model-neutral: it trains any ppgan model (``StyleGANModel``, ``PSPModel``) through ``setup_input`` /
``train_iter`` and saves what the model exposes (``nets``, ``optimizers``, ``get_extra_state``).

* Every iteration reseeds Paddle, NumPy and ``random`` from ``(seed, iteration, rank)``, so a run resumed at
  iteration k draws the same latents, noise, mixing decisions and flips as a straight run. Each rank draws its
  own share; with ``model.replicate_draws`` all ranks share the seed, draw the global batch's randoms and keep
  their slice (``distributed``).
* A SIGINT / SIGTERM to any rank is voted on in the next iteration's first all-reduce: every rank stops after
  the same iteration; a collective that lost its peer ends the run in one line (``RankLostError``).
* Several processes (``python -m paddle.distributed.launch``): nets are not wrapped in DataParallel;
  rank 0's weights are broadcast at start, gradients averaged per optimizer step, and
  ``check_replicas`` (every N iterations) compares a digest of every rank's weights.
* Checkpoints also hold the model's extra state (lazy-regularisation phase, path-length mean, images
  seen), the LR schedulers (inside the optimizer states), the config and the versions.
* Checkpoint files: ``checkpoint`` (atomic writes; the previous checkpoint is removed only after the new
  one is complete).
* After a resume the data loader continues at the same batch of the same epoch.
* SIGINT / SIGTERM: the current iteration finishes, a checkpoint is written, and ``train`` returns
  (``stopped_by`` names the signal); a second signal stops at once.
"""
import hashlib
import json
import logging
import os
import random
import signal
import time

import numpy as np
import paddle
from ppgan.datasets.builder import build_dataloader
from ppgan.engine.trainer import Trainer
from ppgan.utils.timer import TimeAverager
from ppgan.utils.visual import tensor2img
from tqdm import tqdm

from ..core.distributed import (all_mean, broadcast_state, digest, draws_replicated, gather_strings, lost_peer,
                                other_ranks, placement)
from ..core.errors import NonFiniteLossError, RankLostError, last_line, storage_error
from ..core.files import write_json
from ..core.images import save_png
from ..core.runs import newest_iteration_file
from . import checkpoint
from .loader import GuardedLoader, LoaderStopped, ResumableLoader, ThreadFailures

logger = logging.getLogger("ppgan_stylegan")


def seed_everything(seed, iteration=0, rank=0):
    """Seed Paddle, NumPy and Python's ``random`` from (seed, iteration, rank)."""
    digest = hashlib.sha256(f"{seed}:{iteration}:{rank}".encode()).digest()
    value = int.from_bytes(digest[:4], "little") & 0x7FFFFFFF
    paddle.seed(value)
    np.random.seed(value)
    random.seed(value)
    return value


class ResumableTrainer(Trainer):
    """ppgan's Trainer (same config schema, logging and outputs) with exact, crash-safe resume, for any model."""

    def __init__(self, cfg, seed=0, replica_interval=0, progress=False):
        self.seed, self.replica_interval, self.progress = seed, replica_interval, progress
        self.stopped_by = None
        self.rollbacks, self.lr_scale = 0, 1.0  # divergence rollbacks so far; the factor on the configured rates
        self._signal, self._batches, self._previous_sigchld = None, None, None
        self.history = []  # [{'iter': i, 'losses': {...}} | {'iter': i, 'metrics': {...}}]
        super().__init__(cfg)
        loader = getattr(self, "train_dataloader", None)
        if loader is not None and hasattr(self.model, "set_label_pool"):  # a conditional model draws from them
            self.model.set_label_pool(getattr(loader.dataset, "labels", None))
        if self.enable_visualdl and self.local_rank != 0:  # one VisualDL writer, rank 0's (ppgan opens one per rank)
            self.vdl_logger.close()
            self.enable_visualdl = False

    # ------------------------------------------------------------------ history (history.json, full precision)
    @property
    def history_path(self):
        return os.path.join(self.output_dir, "history.json")

    def _record(self, entry):
        self.history.append(entry)
        if self.local_rank == 0:
            write_json(self.history, self.history_path)

    def print_log(self):
        if self.world_size > 1:  # log the global batch's losses (every rank reaches this at the same iteration)
            losses = self.model.losses
            for key in sorted(losses):
                losses[key] = all_mean(paddle.to_tensor(losses[key]).astype("float32"))
        super().print_log()  # (with enable_visualdl, ppgan's print_log adds every loss as a scalar)
        losses = {k: float(v) for k, v in self.model.get_current_losses().items()}
        ips = float(getattr(self, "ips", 0.0) or 0.0)
        self._record({"iter": self.current_iter, "losses": losses, "ips": ips})
        scalars = {f"lr/{name}": float(opt.get_lr()) for name, opt in self.model.optimizers.items()}
        self._to_visualdl(dict(scalars, images_per_second=ips))

    def test(self):
        if not hasattr(self, "test_dataloader"):  # (as ppgan's test builds it), its iterators guarded
            self.test_dataloader = build_dataloader(self.cfg.dataset.test, is_train=False)
        with ThreadFailures() as failures:
            if not isinstance(self.test_dataloader, GuardedLoader):
                self.test_dataloader = GuardedLoader(self.test_dataloader, failures)
            self.test_dataloader.failures = failures
            super().test()
        values = {name: m.last for name, m in (self.metrics or {}).items() if getattr(m, "last", None) is not None}
        if values:
            self._record({"iter": self.current_iter, "metrics": values})
            self._to_visualdl({f"metrics/{name}": float(v) for name, v in values.items()})
        self.model.setup_train_mode(is_train=True)

    # ------------------------------------------------------------------ VisualDL (enable_visualdl: true)
    def _to_visualdl(self, scalars):
        if self.enable_visualdl:
            for tag, value in scalars.items():
                self.vdl_logger.add_scalar(tag, value, step=self.global_steps)

    def visual(self, results_dir, visual_results=None, step=None, is_save_image=False):
        """The PNG files, named as ppgan's ``visual`` names them (L / RGB / RGBA: ppgan's writer takes RGB only);
        with ``enable_visualdl`` the images go to VisualDL too (ppgan's own ``visual`` sends them to VisualDL
        instead of the files)."""
        self.model.compute_visuals()
        min_max = self.cfg.get("min_max", None) or (-1.0, 1.0)
        prefix = "" if not self.cfg.is_train else f"epoch{self.current_epoch:03d}_" if self.by_epoch \
            else f"iter{self.current_iter:03d}_"
        folder = os.path.join(self.output_dir, results_dir)
        os.makedirs(folder, exist_ok=True)
        for label, image in (visual_results or self.model.get_current_visuals()).items():
            image = tensor2img(image, min_max, 1)
            save_png(image, os.path.join(folder, f"{prefix}{label}.png"))
            if self.enable_visualdl and not is_save_image:
                self.vdl_logger.add_image(f"{results_dir}/{label}", image[..., None] if image.ndim == 2 else image,
                                          step=step or self.global_steps, dataformats="HWC")

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum, frame):
        if self._signal is not None:  # second signal: stop now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self._signal = signum
        self.model.stop_requested = True
        logger.warning(f"received {signal.Signals(signum).name}: finishing iteration {self.current_iter}, "
                       "then writing a checkpoint" + (" (every rank stops after the same iteration)"
                                                      if self.world_size > 1 else ""))

    def _install_signal_handlers(self):
        try:
            return {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: leave signals alone
            return {}

    def _stop_agreed(self):
        """One process: a signal arrived. Several ranks: some rank had asked to stop when this iteration's first
        all-reduce ran (the model's ``running`` vote), the same answer on every rank."""
        if self.world_size == 1:
            return self._signal is not None
        return getattr(self.model, "iteration_values", {}).get("running", 1.0) < 0.5

    # ------------------------------------------------------------------ loop
    def train(self):
        previous = self._install_signal_handlers()
        try:
            with tqdm(total=self.total_iters, initial=self.current_iter - 1, unit="it", desc="training",
                      disable=not self.progress or self.local_rank != 0, mininterval=1.0) as self.bar:
                with ThreadFailures() as self._thread_failures:
                    try:
                        self._train_loop()
                    finally:  # worker processes ended on every way out, not at exit
                        if self._batches is not None:
                            self._batches.close()
                        if self._previous_sigchld is not None:
                            signal.signal(signal.SIGCHLD, self._previous_sigchld)
                            self._previous_sigchld = None
        except OSError as e:  # a full disk, a quota, a vanished folder ...: one line, the last checkpoint intact
            failure = storage_error(e, f"training, iteration {self.current_iter}")
            if failure is None:
                raise
            raise failure from e
        except RuntimeError as e:  # a collective whose peer is gone: one line naming it
            if not lost_peer(e):
                raise
            newest = newest_iteration_file(self.output_dir, "checkpoint")
            raise RankLostError(f"rank {self.local_rank}: lost {other_ranks()} during iteration {self.current_iter} "
                                f"({last_line(e, 160)}); "
                                + (f"continue with --resume {newest}" if newest else "no checkpoint yet")) from e
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def distributed_data_parallel(self):
        """Called by ppgan's Trainer when world_size > 1: same weights everywhere, no DataParallel wrapper."""
        if not paddle.distributed.is_initialized():  # apps.train initialises it before choosing the run folder
            paddle.distributed.init_parallel_env()
        for net in self.model.nets.values():
            broadcast_state(net)
        logger.info(f"{placement()}: data parallel over {self.world_size} ranks (weights from rank 0)")

    def check_replicas(self):
        """Raise if any rank's weights (all nets, buffers included) differ from rank 0's."""
        digests = gather_strings(digest(self.model.nets.values()))
        if len(set(digests)) != 1:
            raise RuntimeError(f"iteration {self.current_iter}: replicas differ (digests {digests})")
        if self.local_rank == 0:
            logger.info(f"iteration {self.current_iter}: {len(digests)} replica(s) identical ({digests[0][:16]})")

    def _train_loop(self):
        if self.local_rank == 0:
            checkpoint.remove_stale_temporaries(self.output_dir)
        reader_cost, batch_cost = TimeAverager(), TimeAverager()
        self.start_iter = self.current_iter
        loader = self._loader()
        self.model.setup_train_mode(is_train=True)
        batch_size = self.cfg["dataset"]["train"].get("batch_size", 1)
        logger.info(f"training iterations {self.current_iter}..{self.total_iters}, batch {batch_size} per rank x "
                    f"{self.world_size} rank(s) = global batch {batch_size * self.world_size}")
        while self.current_iter <= self.total_iters:
            seed_everything(self.seed, self.current_iter, 0 if draws_replicated() else self.local_rank)
            self.global_steps = self.current_iter  # the step of VisualDL's records (ppgan's loop never advances it)
            self.current_epoch = loader.epoch + 1
            self.inner_iter = self.current_iter % self.iters_per_epoch
            start = time.time()
            try:
                data = next(loader)
            except LoaderStopped:
                return self._stop_waiting_for_data(loader)
            reader_cost.record(time.time() - start)
            self.model.setup_input(data)
            try:
                self.model.train_iter(self.optimizers)
            except NonFiniteLossError as error:
                self.roll_back(error)  # or re-raised: no rollback left
                loader.close()
                loader = self._loader()
                self.bar.n = self.current_iter - 1
                continue
            batch_cost.record(time.time() - start, num_samples=batch_size)
            self.bar.update(1)

            if self.current_iter % self.log_interval == 0:
                self.data_time = reader_cost.get_average()
                self.step_time = batch_cost.get_average()
                self.ips = batch_cost.get_ips_average()
                self.print_log()
                reader_cost.reset()
                batch_cost.reset()
            if self.current_iter % self.visual_interval == 0 and self.local_rank == 0:
                self.visual("visual_train")
            if self.replica_interval and self.current_iter % self.replica_interval == 0:
                self.check_replicas()
            self.learning_rate_scheduler_step()
            if self.validate_interval > -1 and self.current_iter % self.validate_interval == 0:
                self.test()
            stop = self._stop_agreed()
            if self.current_iter % self.weight_interval == 0 or self.current_iter == self.total_iters or stop:
                self.save_snapshot(self.current_iter)
            if stop:
                self.stopped_by = signal.Signals(self._signal).name if self._signal else "a signal to another rank"
                logger.info(f"stopped by {self.stopped_by} after iteration {self.current_iter}; continue with "
                            f"--resume {self.checkpoint_path(self.current_iter)}")
                return loader.close()
            self.current_iter += 1
        loader.close()

    def _loader(self):
        """The training batches from ``current_iter`` on; a loader thread's error or a stop signal while a batch
        is late reaches this loop (``engine.loader``)."""
        self._batches = ResumableLoader(self.train_dataloader, self.current_iter, self.seed, self._thread_failures,
                                        should_stop=lambda: self._signal is not None)
        self._spare_stopped_workers()
        return self._batches

    def _spare_stopped_workers(self):
        """Paddle's SIGCHLD handler (set once loader workers start) raises wherever the main thread is when a
        worker dies; a worker ended by the stop signal itself (a SIGTERM to the whole process group) must not
        interrupt the iteration the run finishes before it stops. Restored when ``train`` returns."""
        current = signal.getsignal(signal.SIGCHLD)
        if not callable(current) or getattr(current, "spares_stopped_workers", False):
            return

        def on_child(signum, frame):
            if self._signal is None:
                current(signum, frame)
        on_child.spares_stopped_workers = True
        self._previous_sigchld = self._previous_sigchld or current
        signal.signal(signal.SIGCHLD, on_child)

    def _stop_waiting_for_data(self, loader):
        """A signal while no batch came (a stuck loader): iteration ``current_iter - 1`` is complete; its
        checkpoint is written (unless this run completed none) and the loop ends."""
        loader.close()
        self.current_iter -= 1
        self.stopped_by = signal.Signals(self._signal).name
        done = self.current_iter >= self.start_iter
        if done and not os.path.isfile(self.checkpoint_path(self.current_iter)):
            self.save_snapshot(self.current_iter)
        logger.warning(f"stopped by {self.stopped_by} while waiting for data after iteration {self.current_iter}"
                       + ("" if done else " (no iteration of this run completed; nothing written)"))

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_path(self, iteration, name="checkpoint"):
        return checkpoint.checkpoint_path(self.output_dir, iteration, name)

    @property
    def keep_checkpoints(self):
        """``snapshot_config.keep``: how many checkpoints stay on disk (the newest ones; default 1)."""
        return int((self.cfg.get("snapshot_config") or {}).get("keep", 1))

    def save_snapshot(self, iteration):
        """The weight file and the checkpoint of ``iteration`` (the ``keep`` newest checkpoints stay)."""
        self.save(iteration, "weight")
        self.save(iteration, keep=self.keep_checkpoints)

    def save(self, iteration, name="checkpoint", keep=0):
        """Write the checkpoint (``name='checkpoint'``; then only the ``keep`` newest stay, 0: all) or the
        weight file."""
        if self.local_rank != 0:
            return
        full = name == "checkpoint"
        meta = {"rollback": {"count": self.rollbacks, "lr_scale": self.lr_scale}}
        path = checkpoint.write(checkpoint.training_state(self.model, iteration, self.seed, self.cfg, full, meta),
                                self.checkpoint_path(iteration, name))
        logger.info(f"saved {path}")
        if full and keep > 0:
            checkpoint.prune(self.output_dir, keep)

    def load(self, weight_path):
        state = checkpoint.read_weights(weight_path, self.model)
        nets = checkpoint.load_nets(self.model, weight_path, state, (), self.cfg.model)
        logger.info(f"loaded {', '.join(nets)} from {weight_path}")

    # ------------------------------------------------------------------ divergence
    def roll_back(self, error):
        """After ``max_nonfinite`` non-finite iterations in a row: reload the newest checkpoint of this run, scale
        every learning rate by the model's ``rollback_lr_factor`` and go on, at most ``max_rollbacks`` times;
        otherwise re-raise ``error`` (the run stops with one line)."""
        limit = int(getattr(self.model, "max_rollbacks", 0))
        newest = newest_iteration_file(self.output_dir, "checkpoint") if self.local_rank == 0 else None
        newest = gather_strings(newest or "")[0]  # rank 0's view of the shared folder
        if self.rollbacks >= limit or not newest:
            if limit:
                why = "no checkpoint to roll back to" if not newest else f"after {self.rollbacks} rollback(s)"
                error.args = (f"{error.args[0]} ({why})",)
            raise error
        self.rollbacks += 1
        self.lr_scale *= self.model.rollback_lr_factor
        self.resume(newest, rollback_state=False)
        self.model.reset_nonfinite_streak()
        logger.warning(f"divergence: rolled back to {os.path.basename(newest)} (rollback {self.rollbacks} of "
                       f"{limit}); learning rates now x{self.lr_scale:g} of the config's")

    def apply_lr_scale(self):
        """Every optimizer's learning-rate schedule times ``lr_scale`` (of its configured values)."""
        for opt in self.model.optimizers.values():
            sched = getattr(opt, "_learning_rate", None)
            if not hasattr(sched, "get_lr"):
                continue
            attr = "scale" if hasattr(sched, "scale") else "base_lr"  # ScheduledLR (progressive) / Paddle's
            if not hasattr(sched, "_configured"):
                sched._configured = getattr(sched, attr)
            setattr(sched, attr, sched._configured * self.lr_scale)
            sched.last_lr = sched.get_lr()

    def resume(self, checkpoint_path, rollback_state=True):
        state = checkpoint.read_checkpoint(checkpoint_path, self.model)
        checkpoint.load_nets(self.model, checkpoint_path, state, list(self.model.nets), self.cfg.model)
        self.current_iter = int(state["epoch"]) + 1
        self.global_steps = int(state["epoch"])
        for opt_name, opt in self.model.optimizers.items():
            opt.set_state_dict(state[opt_name])
        if "model_state" in state and hasattr(self.model, "set_extra_state"):
            self.model.set_extra_state(state["model_state"])
        if rollback_state:  # a run that rolled back keeps its lowered learning rates across --resume
            rollback = (state.get("meta") or {}).get("rollback") or {}
            self.rollbacks, self.lr_scale = int(rollback.get("count", 0)), float(rollback.get("lr_scale", 1.0))
        if self.lr_scale != 1.0:
            self.apply_lr_scale()
        if os.path.isfile(self.history_path):  # continue the run's history, dropping what comes after
            with open(self.history_path) as f:
                self.history = [h for h in json.load(f) if h["iter"] < self.current_iter]
        logger.info(f"resumed from {checkpoint_path} at iteration {self.current_iter}")
