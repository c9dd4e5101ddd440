"""The training loop's batches: exact resume, and data errors and stop signals that always reach the loop.

Paddle's single-process DataLoader reads in a thread of its own; an exception there ends that thread with a
traceback and leaves the training thread waiting inside Paddle's blocking queue for good, where neither Ctrl-C
nor SIGTERM reaches it. Here the training thread never waits inside Paddle: a fetch thread calls ``next`` on
Paddle's iterator and the training thread waits on a Python queue in short steps, so that

* an exception in a loader thread (``threading.excepthook``, recorded by ``ThreadFailures``) or in a worker
  process (Paddle re-raises it with the worker's traceback in the message) ends the run as the one-line error
  it is, with its exit code;
* a stop signal that arrives while no batch comes ends the wait (``LoaderStopped``): the previous iteration
  is complete, so the trainer writes its checkpoint and returns.
"""
import queue
import threading
import time

import paddle

from ..core.errors import ConfigError, UserError

POLL_SECONDS = 0.2
WORKER_GRACE_SECONDS = 2.0  # a worker not done by then after a stop or an error is killed
READER_GRACE_SECONDS = 1.0  # how long a loader thread that met an error may take to end


class LoaderStopped(Exception):
    """A stop was asked for while the training thread waited for a batch."""


class ThreadFailures:
    """Exceptions that end data-loading threads, while installed (a context manager): user errors (a bad image in
    the data) from any thread, recorded without their traceback, and every exception of a thread running
    Paddle's ``_thread_loop`` (Python >= 3.10 names threads after their target), which keeps its traceback.
    Other threads' errors are only printed, as before."""

    def __init__(self):
        self.errors, self._previous = [], None

    def _hook(self, args):
        loader = args.thread is not None and "_thread_loop" in args.thread.name
        if isinstance(args.exc_value, UserError) or (loader and args.exc_type is not SystemExit):
            self.errors.append(args.exc_value)
        if not isinstance(args.exc_value, UserError):
            self._previous(args)

    def __enter__(self):
        self._previous, threading.excepthook = threading.excepthook, self._hook
        return self

    def __exit__(self, *exc):
        threading.excepthook = self._previous


def worker_error(error):
    """Paddle's re-raise of a worker's exception (``DataLoader worker(N) caught T with message:`` and the
    traceback) back to the one-line error it was; other exceptions as they are."""
    text = str(error)
    if not (isinstance(error, UserError) and text.startswith("DataLoader worker(")):
        return error
    last = [line for line in text.strip().splitlines() if line.strip()][-1]
    return type(error)(last.split(": ", 1)[1] if f"{type(error).__name__}: " in last else last)


def _thread_failure(failures, grace=0.0):
    """The first error recorded in a loader thread, waiting up to ``grace`` seconds for one (Paddle kills its
    queue before the thread's exception reaches the hook), as the one-line error it was."""
    for _ in range(int(grace / POLL_SECONDS) + 1):
        if failures is not None and failures.errors:
            return worker_error(failures.errors[0])
        time.sleep(POLL_SECONDS if grace else 0)
    return None


class _Fetcher:
    """``next`` of a Paddle iterator, called in a daemon thread on request; results (or exceptions) on a queue."""

    def __init__(self, iterator):
        self.iterator, self.requests, self.results = iterator, queue.Queue(), queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(paddle.device.get_device(),), daemon=True,
                                       name="ppgan-stylegan-fetch")
        self.thread.start()

    def _run(self, device):
        paddle.device.set_device(device)  # (a new thread's device, as Paddle sets its reader thread's)
        while self.requests.get():
            try:
                self.results.put((True, next(self.iterator)))
            except BaseException as e:  # StopIteration (the epoch's end) included
                self.results.put((False, e))

    def next_batch(self, failures=None, should_stop=None):
        """The iterator's next batch (StopIteration at its end), waited for in steps of ``POLL_SECONDS``: an error
        of a loader thread (``failures``) or worker is raised as the one-line error it was; ``should_stop()``
        true while the batch is late raises ``LoaderStopped``."""
        self.requests.put(True)
        while True:
            try:
                ok, value = self.results.get(timeout=POLL_SECONDS)
                break
            except queue.Empty:
                if should_stop is not None and should_stop():  # (first: a worker killed by the same signal)
                    self.abandon()
                    raise LoaderStopped()
                failure = _thread_failure(failures)
                if failure is not None:
                    self.abandon()
                    raise failure
        if ok:
            return value
        if isinstance(value, StopIteration):
            raise value
        failure = _thread_failure(failures, grace=1.0) or worker_error(value)
        self.abandon()
        raise failure

    def close(self):
        """End the thread and shut the iterator down now (worker processes included), not at exit."""
        self.requests.put(False)
        self.thread.join(timeout=READER_GRACE_SECONDS)
        if self.iterator is not None and not self.thread.is_alive() and hasattr(self.iterator, "_try_shutdown_all"):
            self.iterator._try_shutdown_all()
        self.iterator = None

    def abandon(self):
        """Give up on a batch that is not coming, so that nothing waits for it at exit (private attributes of
        Paddle's iterators, the same in 2.6 and 3.x): worker processes are ended by Paddle's own shutdown; in the
        single-process form the blocking queue is closed (a C++ wait at exit aborts the process) and the iterator
        marked shut down (its ``__del__`` would join a reader thread that may never return: a daemon, left)."""
        iterator = self.iterator
        workers = getattr(iterator, "_workers", None)
        reader = getattr(iterator, "_thread", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=READER_GRACE_SECONDS)  # (an error: the thread is ending; stuck: it stays)
        if workers and hasattr(iterator, "_try_shutdown_all"):
            iterator._try_shutdown_all(timeout=WORKER_GRACE_SECONDS)
            for worker in workers:  # (no longer watched by Paddle): a worker stuck in a read is ended
                if worker.is_alive():
                    worker.kill()
        elif reader is not None and not reader.is_alive() and hasattr(iterator, "_try_shutdown_all"):
            iterator._try_shutdown_all()  # the reader thread ended (an error): Paddle's own shutdown
        else:
            blocking = getattr(iterator, "_blocking_queue", None)
            if blocking is not None:
                blocking.close()
            iterator._shutdown = True
        self.close()  # (the fetch thread leaves Paddle's reader, whose queue is closed; the iterator goes now)


class ResumableLoader:
    """Infinite iterator over a DataLoader that can start at any global iteration.

    Epoch ``e`` uses ``batch_sampler.set_epoch(e)`` (a new shuffle every epoch, reproducible); starting at
    iteration ``i`` (1-based) skips the batches of the current epoch already consumed. ``failures``: the
    ``ThreadFailures`` in force; ``should_stop``: asked while a batch is late (``LoaderStopped`` when true).
    """

    def __init__(self, dataloader, start_iter=1, seed=0, failures=None, should_stop=None):
        self.dataloader, self.seed = dataloader, seed
        self.failures, self.should_stop, self.fetcher = failures, should_stop, None
        self.per_epoch = len(dataloader)
        if self.per_epoch == 0:
            raise ConfigError("dataset: fewer images than one batch (batch_size too large for the dataset)")
        self.epoch = (start_iter - 1) // self.per_epoch
        self._start(skip=(start_iter - 1) % self.per_epoch)

    def _start(self, skip=0):
        sampler = getattr(self.dataloader, "batch_sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)
        dataset = getattr(self.dataloader, "dataset", None)
        if hasattr(dataset, "set_epoch"):  # epoch-dependent augmentation (our dataset's flips)
            dataset.set_epoch(self.epoch, self.seed)
        self.close()
        self.fetcher = _Fetcher(iter(self.dataloader))
        for _ in range(skip):
            self._fetch()

    def _fetch(self):
        return self.fetcher.next_batch(self.failures, self.should_stop)

    def __next__(self):
        try:
            return self._fetch()
        except StopIteration:
            self.epoch += 1
            self._start()
            return self._fetch()

    def close(self):
        if self.fetcher is not None:
            self.fetcher.close()
            self.fetcher = None


class GuardedLoader:
    """A DataLoader whose iterators wait as ``ResumableLoader`` does (a loader thread's error reaches the caller in
    one line), for loops that iterate a loader themselves: ppgan's ``Trainer.test``."""

    def __init__(self, dataloader, failures=None):
        self.dataloader, self.failures = dataloader, failures

    def __len__(self):
        return len(self.dataloader)

    def __getattr__(self, name):  # (dataset, batch_sampler, ...: the DataLoader's own)
        if name == "dataloader":
            raise AttributeError(name)
        return getattr(self.dataloader, name)

    def __iter__(self):
        return _GuardedIterator(_Fetcher(iter(self.dataloader)), self.failures)


class _GuardedIterator:
    def __init__(self, fetcher, failures):
        self.fetcher, self.failures = fetcher, failures

    def __next__(self):
        return self.fetcher.next_batch(self.failures)

    def __del__(self):  # (ppgan's loop drops its iterator unfinished: the fetch thread and Paddle's end here)
        self.fetcher.close()
