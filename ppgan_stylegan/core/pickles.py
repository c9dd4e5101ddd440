"""PyTorch checkpoints and NVIDIA network pickles, read with the standard library and numpy only.

Formats (facts from torch/serialization.py and NVIDIA's dnnlib / torch_utils):

* ``torch.save`` zip (PyTorch >= 1.6): ``<dir>/data.pkl`` pickles the object; a tensor is
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` whose storage is a persistent id
  ``('storage', torch.FloatStorage, key, location, numel)`` with the raw little-endian bytes in
  ``<dir>/data/<key>``.
* ``torch.save`` legacy (older PyTorch, and every storage inside a plain ``pickle.dump`` of tensors, which
  pickles it as ``torch.storage._load_from_bytes(<legacy bytes>)``): pickles of a magic number, the protocol
  version and system info, then the object (persistent ids ``('storage', type, key, location, numel,
  view)``), then the list of storage keys, then per key an int64 element count and the raw bytes.
* NVIDIA's TensorFlow pickles (StyleGAN, StyleGAN2, StyleGAN2-ADA TF): ``(G, D, Gs)`` of
  ``dnnlib.tflib.network.Network`` whose state holds ``variables`` (name, array) and sub-``components``.
* stylegan2-ada-pytorch / stylegan3 pickles: ``{'G', 'D', 'G_ema', ...}`` of persistent classes, rebuilt by
  ``torch_utils.persistence._reconstruct_persistent_obj(meta)``; ``meta`` carries the class's source code
  and the module's ``__dict__`` (``_parameters``, ``_buffers``, ``_modules``, attributes).

Nothing named in a file is imported or executed: ``SafeUnpickler`` maps the few globals these formats use
onto the plain stand-ins below and refuses every other with one line naming it. The source code these
pickles embed is kept as text and never run.
"""
import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np

from .archives import METADATA, read_member
from .errors import UserError

try:  # numpy 2 moved the pickling helpers; numpy 1 has them here
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray

TORCH_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_LEGACY_HEAD = b"\x80\x02\x8a\x0a"  # a legacy torch.save file: pickle protocol 2, then the magic as LONG1
TORCH_PROTOCOL = 1001

# storage class name -> numpy dtype (bfloat16 is read as its 16 high bits of a float32)
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "UntypedStorage": np.uint8,
}


class UnsafePickleError(UserError):
    """A pickle asked for a global outside the formats we read (it could run code)."""


class StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only its element type matters."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    @property
    def itemsize(self):
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize

    def from_bytes(self, raw):
        if self.dtype == "bfloat16":
            return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        return np.frombuffer(raw, np.dtype(self.dtype).newbyteorder("<"))


def rebuild_tensor(storage, offset, size, stride, *unused):
    """``torch._utils._rebuild_tensor(_v2)``: a numpy array from a flat storage array, or a pending tensor
    when the storage's bytes come after the pickle (legacy format)."""
    if isinstance(storage, _Storage):
        if storage.array is None:
            return _Pending(storage, (offset, size, stride))
        storage = storage.array
    size, stride = tuple(size), tuple(stride)
    flat = np.asarray(storage)
    if not size:
        return np.array(flat[offset])
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=[s * flat.itemsize for s in stride])
    return np.array(view)  # an own, contiguous copy


def rebuild_parameter(data, *unused):
    """``torch._utils._rebuild_parameter(_with_state)``: a parameter is its data."""
    return data


class _Storage:
    """A storage (flat array); in the legacy format its bytes arrive after the pickle."""

    def __init__(self, storage_type, numel):
        if not isinstance(storage_type, StorageType):
            raise UnsafePickleError(f"storage of unknown type {storage_type!r}")
        self.type, self.numel, self.array = storage_type, int(numel), None

    def fill(self, raw):
        self.array = self.type.from_bytes(raw)


class _Pending:
    """A tensor whose storage is not read yet: made by ``_resolve`` once it is."""

    def __init__(self, storage, args):
        self.storage, self.args = storage, args

    def resolve(self):
        return rebuild_tensor(self.storage.array, *self.args)


class TFNetwork:
    """Stand-in for ``dnnlib.tflib.network.Network``: its pickled state, never built."""

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.variables = [(name, np.asarray(value)) for name, value in state.get("variables", [])]
        self.components = dict(state.get("components", {}))
        self.static_kwargs = dict(state.get("static_kwargs", {}))

    def params(self, prefix=""):
        """All variables by scoped name (``mapping/Dense0/weight``), components included."""
        out = {prefix + name: value for name, value in self.variables}
        for name, comp in self.components.items():
            out.update(comp.params(prefix + name + "/"))
        return out


class TorchModule:
    """Stand-in for a pickled ``torch.nn.Module`` or NVIDIA persistent class: its ``__dict__``."""

    class_name = "Module"
    module_src = None

    def __setstate__(self, state):
        self.__dict__.update(state if isinstance(state, dict) else {"state": state})

    def named_tensors(self, prefix=""):
        """The module's ``state_dict()``: parameters and buffers by dotted name, as numpy arrays."""
        out = {}
        for group in ("_parameters", "_buffers"):
            for name, value in (self.__dict__.get(group) or {}).items():
                if value is not None:
                    out[prefix + name] = np.asarray(value)
        for name, child in (self.__dict__.get("_modules") or {}).items():
            if isinstance(child, TorchModule):
                out.update(child.named_tensors(prefix + name + "."))
        return out


_MODULE_CLASSES = {}


def _torch_module_class(module, name):
    """A TorchModule subclass named after a plain torch class (a new class, no code from the file)."""
    key = f"{module}.{name}"
    if key not in _MODULE_CLASSES:
        _MODULE_CLASSES[key] = type(name, (TorchModule,), {"class_name": key})
    return _MODULE_CLASSES[key]


def reconstruct_persistent(meta):
    """``torch_utils.persistence._reconstruct_persistent_obj``: keep the class name and the state; the
    class's source (``meta['module_src']``) is kept as text, never executed."""
    if not isinstance(meta, dict):
        raise UnsafePickleError("persistent object without its meta dict")
    obj = TorchModule()
    obj.class_name, obj.module_src = str(meta.get("class_name")), meta.get("module_src")
    obj.__setstate__(meta.get("state") or {})
    return obj


class EasyDict(dict):
    """Stand-in for ``dnnlib.EasyDict``."""


def _reconstructor(cls, base, state=None):
    """``copyreg._reconstructor`` for the stand-in classes only (``cls`` came through ``find_class``)."""
    if not (isinstance(cls, type) and issubclass(cls, (TorchModule, TFNetwork, dict))):
        raise UnsafePickleError(f"refusing to rebuild {cls!r}")
    obj = cls.__new__(cls)
    if isinstance(obj, dict) and state:
        obj.update(state)
    return obj


def load_from_bytes(raw):
    """``torch.storage._load_from_bytes``: one storage saved in the legacy format -> flat numpy array."""
    result = _read_legacy(io.BytesIO(raw), "storage")
    if not isinstance(result, np.ndarray):
        raise UnsafePickleError("torch.storage._load_from_bytes did not hold a storage")
    return result


# what both restricted readers build arrays from: numpy arrays, dtypes and scalars (numpy 1.x and 2.x module
# names), and the bytes of protocol-2 pickles (``_codecs.encode``)
ARRAYS = {
    ("_codecs", "encode"): lambda text, encoding="latin1": text.encode(encoding),
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
}

ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "slice"): slice,
    ("builtins", "complex"): complex, ("builtins", "bytearray"): bytearray, ("builtins", "object"): object,
    ("__builtin__", "set"): set, ("__builtin__", "object"): object,
    ("copyreg", "_reconstructor"): _reconstructor, ("copy_reg", "_reconstructor"): _reconstructor,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): load_from_bytes,
    # tensors carrying Python attributes (newer PyTorch): rebuilt by ``func(*args)``, the attributes dropped
    ("torch._tensor", "_rebuild_from_type_v2"): lambda func, _type, args, _state: func(*args),
    ("torch._tensor", "_rebuild_from_type"): lambda func, _type, args, _dict: func(*args),
    ("torch", "Tensor"): TorchModule, ("torch.nn.parameter", "Parameter"): TorchModule,
    ("torch", "Size"): tuple,
    ("torch", "device"): lambda *args: ":".join(str(a) for a in args),
    **ARRAYS,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("dnnlib", "EasyDict"): EasyDict, ("dnnlib.util", "EasyDict"): EasyDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): reconstruct_persistent,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only what ``allowed`` maps (module, name) globals to; any other global is refused
    with one line naming it and the file, before anything from the file is imported or called."""

    allowed = {}
    formats = "the formats we read"

    def __init__(self, file, path="file"):
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module, name):
        if (module, name) in self.allowed:
            return self.allowed[(module, name)]
        raise UnsafePickleError(f"{self.path}: refusing to load: the pickle asks for {module}.{name}, which is "
                                f"not part of {self.formats} (it could run code)")

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.path}: unknown persistent id {str(pid)[:60]}")


class SafeUnpickler(RestrictedUnpickler):
    """Unpickler that builds only containers, numpy arrays and the stand-ins above.

    ``storages`` collects the torch storages by key; ``storage_bytes(key)`` (zip format) supplies their
    bytes while unpickling, else they are filled later (legacy format)."""

    allowed = ALLOWED
    formats = "a PyTorch checkpoint or NVIDIA network pickle"

    def __init__(self, file, path="file", storage_bytes=None):
        super().__init__(file, path)
        self.storage_bytes, self.storages = storage_bytes, {}

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        if module.startswith("torch.nn.modules."):  # plain torch modules inside NVIDIA's networks
            return _torch_module_class(module, name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] in ("storage", b"storage")):
            return super().persistent_load(pid)
        storage_type, key, _location, numel = pid[1:5]
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type, numel)
            if self.storage_bytes is not None:
                self.storages[key].fill(self.storage_bytes(key))
        view = pid[5] if len(pid) > 5 else None
        if view is not None:  # (view key, offset, size): a slice of the root storage
            _, offset, size = view
            return _View(self.storages[key], int(offset), int(size))
        return self.storages[key]


class _View(_Storage):
    """A slice of a legacy storage (``view_metadata``)."""

    def __init__(self, root, offset, size):
        self.root, self.offset, self.size, self.type = root, offset, size, root.type

    @property
    def array(self):
        return None if self.root.array is None else self.root.array[self.offset:self.offset + self.size]


def _resolve(obj):
    """Pending tensors and storages -> numpy arrays, through containers and stand-ins."""
    if isinstance(obj, _Pending):
        return obj.resolve()
    if isinstance(obj, _Storage):
        return obj.array
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _resolve(obj[k])
    elif isinstance(obj, list):
        obj[:] = [_resolve(v) for v in obj]
    elif isinstance(obj, tuple):
        return tuple(_resolve(v) for v in obj)
    elif isinstance(obj, (TorchModule, TFNetwork)):
        _resolve(obj.__dict__)
    return obj


def _read_legacy(f, path):
    """A legacy ``torch.save`` stream (see the module docstring)."""
    try:
        magic = SafeUnpickler(f, path).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise UserError(f"{path}: not a PyTorch checkpoint or network pickle ({e})")
    if magic != TORCH_MAGIC:
        raise UserError(f"{path}: not a PyTorch checkpoint (no torch.save magic number)")
    protocol = SafeUnpickler(f, path).load()
    if protocol != TORCH_PROTOCOL:
        raise UserError(f"{path}: PyTorch legacy format version {protocol} is not supported "
                        f"(expected {TORCH_PROTOCOL})")
    SafeUnpickler(f, path).load()  # system info
    unpickler = SafeUnpickler(f, path)
    result = unpickler.load()
    for key in SafeUnpickler(f, path).load():
        storage = unpickler.storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        raw = f.read(count * storage.type.itemsize)
        if len(raw) != count * storage.type.itemsize:
            raise UserError(f"{path}: truncated (storage {key}: {len(raw)} of {count * storage.type.itemsize} bytes)")
        storage.fill(raw)
    return _resolve(result)


def _read_zip(path):
    """A ``torch.save`` zip; its members are read with a bound (``core.archives``): PyTorch stores them
    uncompressed, so none inflates past the archive's own size (a member that does is a zip bomb)."""
    limit = os.path.getsize(path) + METADATA
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        pkl = sorted(n for n in names if n.endswith("data.pkl"))
        if not pkl:
            raise UserError(f"{path}: a zip file without data.pkl is not a PyTorch checkpoint")
        prefix = pkl[0][:-len("data.pkl")]
        if prefix + "byteorder" in names and read_member(zf, prefix + "byteorder", limit).strip() != b"little":
            raise UserError(f"{path}: big-endian PyTorch checkpoints are not supported")

        def storage_bytes(key):
            name = f"{prefix}data/{key}"
            if name not in names:
                raise UserError(f"{path}: storage {name} is missing")
            return read_member(zf, name, limit, f"{path}:{name}")
        pickle_bytes = read_member(zf, pkl[0], limit, f"{path}:{pkl[0]}")
        return _resolve(SafeUnpickler(io.BytesIO(pickle_bytes), path, storage_bytes).load())


def is_torch_legacy(path):
    """Whether ``path`` starts like a legacy ``torch.save`` file."""
    with open(path, "rb") as f:
        return f.read(len(TORCH_LEGACY_HEAD)) == TORCH_LEGACY_HEAD


def read_torch(path):
    """A ``torch.save`` file (zip or legacy) as plain containers of numpy arrays."""
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    with open(path, "rb") as f:
        return _read_legacy(f, path)


def read_pickle(path):
    """An NVIDIA network pickle (TensorFlow or PyTorch era) with the stand-ins above."""
    with open(path, "rb") as f:
        try:
            return _resolve(SafeUnpickler(f, path).load())
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise UserError(f"{path}: not a readable pickle ({e})")


# ----------------------------------------------------------------------------- Paddle's own files

def _paddle_tensor(items):
    """``paddle.save``'s record of a tensor: its reducer pickles ``tuple(((name, ndarray),))`` -> ``(name, ndarray)``;
    ``paddle.load`` makes a tensor of it, we keep the array."""
    items = tuple(items)
    if len(items) == 2 and isinstance(items[0], str) and isinstance(items[1], np.ndarray):
        return items[1]
    return items


def _dense_tensor(expression, scope):
    """``paddle.save``'s record of a static-graph DenseTensor (LoDTensor): ``eval('data', {'data': ndarray})``.
    Only that exact form is accepted; nothing is evaluated."""
    if expression != "data" or not isinstance(scope, dict) or not isinstance(scope.get("data"), np.ndarray) \
            or len(scope) != 1:
        raise UnsafePickleError(f"refusing builtins.eval({str(expression)[:40]!r}, ...): not a Paddle tensor record")
    return scope["data"]


PADDLE_ALLOWED = {
    # containers: state dicts are dicts or OrderedDicts (lists, tuples, str, numbers, None need no global)
    ("collections", "OrderedDict"): OrderedDict,
    # tensors in nested objects (paddle.save's reducers)
    ("builtins", "tuple"): _paddle_tensor, ("builtins", "eval"): _dense_tensor,
    # arrays, dtypes, scalars, protocol-2 bytes
    **ARRAYS,
}

BIG_PARAMS, STRUCTURE_NAMES = "UnpackBigParamInfor@@", "StructuredToParameterName@@"


class PaddleUnpickler(RestrictedUnpickler):
    """Paddle's ``.pdparams`` / ``.pdopt``, ppgan's checkpoints and ours: containers, numpy arrays and scalars, and
    the tensor records of ``paddle.save`` (``PADDLE_ALLOWED``)."""

    allowed = PADDLE_ALLOWED
    formats = "a Paddle weight, optimizer or checkpoint file"


def _join_big_params(state):
    """``paddle.save`` (protocol < 4) splits an array over 4 GB into slices listed under ``BIG_PARAMS``."""
    info = state.pop(BIG_PARAMS, None)
    if isinstance(info, dict):
        for key, entry in info.items():
            parts = [state.pop(part) for part in entry["slices"]]
            state[key] = np.concatenate([np.asarray(p).reshape(-1) for p in parts]).reshape(entry["OriginShape"])
    return state


def _unpack(obj):
    """What ``paddle.load`` does to the unpickled object besides making tensors, in every dict: big arrays joined,
    the name table of structured state dicts dropped. In place and without recursion (a file may nest deeply or
    refer to itself)."""
    seen, todo = set(), [obj]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            item.pop(STRUCTURE_NAMES, None)
            _join_big_params(item)
            todo.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            todo.extend(v for v in item if isinstance(v, (dict, list)))
    return obj


def read_paddle(path):
    """A file written by ``paddle.save`` (Paddle 2.x / 3.x, pickle protocols 2-5), ppgan's ``save`` or us, as plain
    containers of numpy arrays. Nothing named in the file is imported or called: a global outside
    ``PADDLE_ALLOWED`` is refused with one line (``UnsafePickleError``)."""
    try:
        with open(path, "rb") as f:
            return _unpack(PaddleUnpickler(f, path).load())
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, OSError) as e:
        raise UserError(f"{path}: not a readable Paddle weight file ({type(e).__name__})")
