"""Data parallelism by explicit collectives (``paddle.distributed``, launched with ``paddle.distributed.launch``).

The nets are not wrapped in ``paddle.DataParallel``: a StyleGAN2 iteration has four optimizer steps, each
with its own set of trainable parameters (D main, D reg, G main, G reg), two of them through double
backward (R1, path length). Instead gradients are averaged with one fused all-reduce per optimizer step, and the
few statistics (w_avg, path-length mean, non-finite flags) are averaged across ranks, so every rank holds
the same weights after every step. Random draws (latents, noise, augmentation): by default each rank draws only
its own share from its own seed (equal in distribution to one process); with ``replicate_draws(True)`` every rank
draws the *global* batch from the shared seed and keeps its slice, so the run equals a one-process run over the
global batch exactly (at world-size times the memory for those draws).
"""
import hashlib
import os
import socket

import numpy as np
import paddle
import paddle.distributed as dist

from .compat import write_


def world_size():
    return dist.get_world_size()


def rank():
    return dist.get_rank()


def placement():
    """Where this process runs, for the logs: global rank, local rank, node (from ``paddle.distributed.launch``'s
    environment; one process per node: node = rank)."""
    local_size = max(1, int(os.environ.get("PADDLE_LOCAL_SIZE", "1")))
    nnodes = int(os.environ.get("PADDLE_NNODES", "1").split(":")[0] or 1)
    return (f"rank {rank()} of {world_size()}, node {rank() // local_size} of {nnodes} ({socket.gethostname()}), "
            f"local rank {os.environ.get('PADDLE_LOCAL_RANK', '0')}")


_draws = {"replicated": False}


def replicate_draws(enabled):
    """True: every rank draws the global batch and keeps its slice (exactly one process's draws); False: each rank
    draws its own share (the trainer seeds each rank differently)."""
    _draws["replicated"] = bool(enabled)


def draws_replicated():
    return _draws["replicated"]


def local_slice(tensor, batch):
    """Rows ``[rank * batch, (rank + 1) * batch)`` of a tensor drawn for the global batch."""
    if world_size() == 1:
        return tensor
    start = rank() * batch
    return tensor[start:start + batch]


def randn_local(shape, batch):
    """This rank's ``[batch, ...]`` normal draws: its own, or its rows of the global batch's (replicated draws)."""
    if world_size() == 1 or not draws_replicated():
        return paddle.randn([batch] + list(shape[1:]))
    return local_slice(paddle.randn([batch * world_size()] + list(shape[1:])), batch)


def rand_local(shape):
    """This rank's uniform [0, 1) draws (``shape[0]`` rows per rank), as ``randn_local``."""
    if world_size() == 1 or not draws_replicated():
        return paddle.rand(list(shape))
    return local_slice(paddle.rand([shape[0] * world_size()] + list(shape[1:])), shape[0])


def all_sum(tensor):
    """Sum of a tensor over ranks (identity with one process)."""
    if world_size() == 1:
        return tensor
    out = tensor.clone()
    dist.all_reduce(out)
    return out


def all_mean(tensor):
    """Mean of a tensor over ranks (identity with one process)."""
    return all_sum(tensor) / world_size() if world_size() > 1 else tensor


def all_finite(flag):
    """A bool tensor that is True iff ``flag`` is True on every rank (keeps ranks in step when one sees a NaN);
    on the device: no host synchronisation."""
    if world_size() == 1:
        return flag
    return all_min(flag.astype("float32").reshape([1])).reshape([]) > 0.5


LOST_PEER_SIGNS = ("connection reset by peer", "connection closed by peer", "broken pipe", "socket closed",
                   "remote process exited", "ncclremoteerror", "timed out", "timeout")


def lost_peer(error):
    """Whether ``error`` (raised by a collective) says that another rank went away (gloo on CPUs, NCCL on GPUs)."""
    text = str(error).lower()
    return world_size() > 1 and any(sign in text for sign in LOST_PEER_SIGNS)


def other_ranks():
    """How to name the ranks this one may have lost: the other rank of two, else 'another rank'."""
    return f"rank {1 - rank()}" if world_size() == 2 else f"another of the {world_size()} ranks"


def all_min(tensor):
    """Element-wise minimum of a float tensor over ranks (identity with one process); on the device."""
    if world_size() == 1:
        return tensor
    out = tensor.clone()
    dist.all_reduce(out, op=dist.ReduceOp.MIN)
    return out


def average_gradients(parameters):
    """Average the gradients of ``parameters`` over ranks with one fused all-reduce."""
    if world_size() == 1:
        return
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return
    flat = paddle.concat([p.grad.reshape([-1]) for p in params])
    dist.all_reduce(flat)
    flat = flat / world_size()
    offset = 0
    for p in params:
        n = int(np.prod(p.grad.shape))
        write_(p.grad, flat[offset:offset + n])
        offset += n


def broadcast_state(layer, src=0):
    """Copy ``src``'s parameters and buffers to every rank."""
    if world_size() == 1:
        return
    with paddle.no_grad():
        for t in list(layer.parameters()) + list(layer.buffers()):
            dist.broadcast(t, src=src)


def digest(layers):
    """sha256 over the bytes of every parameter and buffer (replica comparison)."""
    h = hashlib.sha256()
    for layer in layers:
        for name, t in sorted(layer.state_dict().items()):
            h.update(name.encode())
            h.update(np.ascontiguousarray(t.numpy()).tobytes())
    return h.hexdigest()


def gather_strings(text):
    """Every rank's ``text`` (of any length, empty too), in rank order: the lengths first, then the bytes padded
    to the longest (``all_gather`` needs the same shape on every rank)."""
    if world_size() == 1:
        return [text]
    codes = np.frombuffer(text.encode(), dtype=np.uint8).astype("int32")
    lengths = []
    dist.all_gather(lengths, paddle.to_tensor([len(codes)], dtype="int32"))
    lengths = [int(n.numpy()[0]) for n in lengths]
    padded = np.zeros([max(lengths + [1])], "int32")
    padded[:len(codes)] = codes
    out = []
    dist.all_gather(out, paddle.to_tensor(padded))
    return [bytes(o.numpy()[:n].astype(np.uint8).tolist()).decode() for o, n in zip(out, lengths)]


def average_statistics(layer):
    """Average every non-trainable float tensor of ``layer`` over ranks, in place: buffers and Paddle's
    BatchNorm running mean / variance (non-trainable parameters)."""
    if world_size() == 1:
        return
    trainable = {id(p) for p in layer.parameters() if not p.stop_gradient}
    with paddle.no_grad():
        for t in layer.state_dict().values():
            if id(t) not in trainable and t.dtype in (paddle.float32, paddle.float64):
                write_(t, all_mean(t))


def gather_rows(array):
    """Concatenate every rank's ``array`` (same trailing shape, any number of rows) in rank order.

    With ``DistributedBatchSampler`` (no shuffle) rank r's batch i is the r-th slice of the global batch i, so
    gathering each batch gives the rows in the order one process with the global batch would see them."""
    array = np.asarray(array)
    if world_size() == 1:
        return array
    rows = paddle.to_tensor([array.shape[0]], dtype="int64")
    counts = []
    dist.all_gather(counts, rows)
    counts = [int(c.item()) for c in counts]
    padded = np.zeros((max(counts),) + array.shape[1:], dtype=array.dtype)
    padded[:array.shape[0]] = array
    parts = []
    dist.all_gather(parts, paddle.to_tensor(padded))
    return np.concatenate([p.numpy()[:n] for p, n in zip(parts, counts)])
