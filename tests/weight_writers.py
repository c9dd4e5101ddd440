"""Writers of other releases' weight files, for the import tests, with neither torch nor TensorFlow.

Each writer lays out our networks' weights as the release does (key names and layouts from rosinality's
convert_weight.py, NVIDIA's legacy.py and networks.py, torch/serialization.py), written here from those
formats, independently of ``ppgan_stylegan.networks.families.weight_maps``. The pickles name the releases' own globals
(``torch._utils._rebuild_tensor_v2``, ``dnnlib.tflib.network.Network``, ...): stand-in modules with those
names exist only while a file is written.
"""
import contextlib
import io
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np

MAGIC, PROTOCOL = 0x1950A86A20F9469CFC6C, 1001
STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("float16"): "HalfStorage",
                 np.dtype("int64"): "LongStorage"}


class Tensor:
    """A tensor to write (``param``: pickled as an ``nn.Parameter``)."""

    def __init__(self, array, param=False):
        self.array, self.param = np.ascontiguousarray(array), param


class Persistent:
    """An NVIDIA persistent-class module: class name, source text, parameters, buffers, children, attrs."""

    def __init__(self, class_name, params=None, buffers=None, modules=None, module_src="", **attrs):
        self.class_name, self.module_src = class_name, module_src
        self.params, self.buffers, self.modules, self.attrs = params or {}, buffers or {}, modules or {}, attrs


class TFNet:
    """A ``dnnlib.tflib.network.Network``: pickled under that name (NEWOBJ, then its state), as dnnlib does."""

    def __init__(self, name, variables, components=None, static_kwargs=None, build_module_src=""):
        self.name, self.variables, self.components = name, variables, components or {}
        self.static_kwargs, self.build_module_src = static_kwargs or {}, build_module_src

    def __getstate__(self):
        return dict(version=4, name=self.name, static_kwargs=self.static_kwargs, components=self.components,
                    build_module_src=self.build_module_src, build_func_name="G_main",
                    variables=[(k, np.asarray(v)) for k, v in self.variables.items()])


TFNet.__module__, TFNet.__qualname__ = "dnnlib.tflib.network", "Network"


class _Storage:
    def __init__(self, key, array):
        self.key, self.array = key, array


def _fake(qualified):
    """A stand-in callable/class named ``module.name`` (never called: only its name is pickled)."""
    module, name = qualified.rsplit(".", 1)
    obj = type(name, (), {}) if name[0].isupper() else (lambda *a: None)
    obj.__module__, obj.__qualname__, obj.__name__ = module, name, name
    return obj


@contextlib.contextmanager
def _stand_in_modules(*qualified):
    """Modules named like the releases' holding the stand-ins, for the time of a write (nested: reused)."""
    added = []
    for q in qualified:
        module, name = q.rsplit(".", 1)
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            mod_name = ".".join(parts[:i])
            if mod_name not in sys.modules:
                sys.modules[mod_name] = types.ModuleType(mod_name)
                added.append(mod_name)
        setattr(sys.modules[module], name, FAKES[q])
    try:
        yield FAKES
    finally:
        for mod_name in added:
            del sys.modules[mod_name]


GLOBALS = ("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.storage._load_from_bytes",
           "torch.FloatStorage", "torch.HalfStorage", "torch.LongStorage",
           "torch_utils.persistence._reconstruct_persistent_obj")
FAKES = {q: _fake(q) for q in GLOBALS}
FAKES["dnnlib.tflib.network.Network"] = TFNet


class _Pickler(pickle.Pickler):
    """Pickles Tensor / Persistent / TFNet as the releases do; storages by ``storage_mode``:
    'persistent' (torch.save: persistent ids) or 'bytes' (plain pickle: _load_from_bytes)."""

    def __init__(self, f, g, storage_mode, protocol=2, legacy=False, location="cpu"):
        super().__init__(f, protocol=protocol)
        self.g, self.storage_mode, self.storages, self.legacy = g, storage_mode, [], legacy
        self.location = location

    def persistent_id(self, obj):
        if isinstance(obj, _Storage) and self.storage_mode == "persistent":
            storage_type = self.g["torch." + STORAGE_NAMES[obj.array.dtype]]
            pid = ("storage", storage_type, obj.key, self.location, obj.array.size)
            return pid + (None,) if self.legacy else pid  # legacy ids end with the view metadata
        return None

    def reducer_override(self, obj):
        g = self.g
        if isinstance(obj, Tensor):
            storage = _Storage(str(len(self.storages)), obj.array.reshape(-1))
            self.storages.append(storage)
            if self.storage_mode == "bytes":
                storage = _BytesStorage(storage.array)
            stride = tuple(s // obj.array.itemsize for s in obj.array.strides)
            tensor = (g["torch._utils._rebuild_tensor_v2"], (storage, 0, tuple(obj.array.shape), stride, False,
                                                                OrderedDict()))
            if not obj.param:
                return tensor
            return g["torch._utils._rebuild_parameter"], (_Reduced(tensor), True, OrderedDict())
        if isinstance(obj, _Reduced):
            return obj.reduced
        if isinstance(obj, _BytesStorage):
            return g["torch.storage._load_from_bytes"], (torch_legacy_bytes(_Storage("0", obj.array)),)
        if isinstance(obj, Persistent):
            state = {"training": False, "_parameters": OrderedDict((k, Tensor(v, True)) for k, v in obj.params.items()),
                     "_buffers": OrderedDict((k, Tensor(v)) for k, v in obj.buffers.items()),
                     "_modules": OrderedDict(obj.modules), **obj.attrs}
            meta = dict(type="class", version=4, module_src=obj.module_src, class_name=obj.class_name, state=state)
            return g["torch_utils.persistence._reconstruct_persistent_obj"], (meta,)
        return NotImplemented


class _Reduced:
    def __init__(self, reduced):
        self.reduced = reduced


class _BytesStorage:
    def __init__(self, array):
        self.array = array




def _dump(obj, storage_mode, protocol=2, legacy=False, location="cpu"):
    buf = io.BytesIO()
    with _stand_in_modules(*FAKES) as g:
        p = _Pickler(buf, g, storage_mode, protocol, legacy, location)
        p.dump(obj)
    return buf.getvalue(), p.storages


def torch_legacy_bytes(obj):
    """``torch.save(obj, _use_new_zipfile_serialization=False)``: header pickles, object, keys, storages."""
    out = io.BytesIO()
    for value in (MAGIC, PROTOCOL, {"protocol_version": PROTOCOL, "little_endian": True,
                                    "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(value, out, protocol=2)
    if isinstance(obj, _Storage):  # a lone storage (what _load_from_bytes reads)
        with _stand_in_modules(*FAKES) as g:
            p = _Pickler(out, g, "persistent", legacy=True)
            p.dump(obj)
        storages = [obj]
    else:
        data, storages = _dump(obj, "persistent", legacy=True)
        out.write(data)
    pickle.dump([s.key for s in storages], out, protocol=2)
    for s in storages:
        out.write(struct.pack("<q", s.array.size))
        out.write(s.array.tobytes())
    return out.getvalue()


def write_torch_zip(path, obj, location="cpu"):
    """``torch.save(obj, path)`` (zip format); ``location``: the device the storages are tagged with."""
    data, storages = _dump(obj, "persistent", location=location)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", data)
        zf.writestr("archive/byteorder", "little")
        for s in storages:
            zf.writestr(f"archive/data/{s.key}", s.array.tobytes())
        zf.writestr("archive/version", "3\n")


def write_torch_legacy(path, obj):
    with open(path, "wb") as f:
        f.write(torch_legacy_bytes(obj))


def write_pickle(path, obj):
    """``pickle.dump`` as NVIDIA's training loops do (tensors carry their storage as legacy bytes)."""
    data, _ = _dump(obj, "bytes", protocol=4)
    with open(path, "wb") as f:
        f.write(data)


# ----------------------------------------------------------------------------- our state -> each release

def _np(state):
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float32) for k, v in state.items()}


def _resolutions(size):
    return [2 ** i for i in range(3, int(np.log2(size)) + 1)]


def rosinality_state(state, tensors=True):
    """rosinality's names are ppgan's; its dense weights are [out, in] and it saves every blur kernel."""
    out = OrderedDict()
    for k, v in _np(state).items():
        if k.startswith("w_avg"):
            continue
        dense = v.ndim == 2 and (k.startswith(("style.", "final_linear.")) or k.endswith("modulation.weight"))
        out[k] = Tensor(v.T) if dense else Tensor(v)
    blur = Tensor(np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 64)
    for k in list(out):  # blur kernels of G's up convs and D's down convs (rosinality saves them as buffers)
        if k.startswith("convs.") and k.endswith(".conv.weight") and int(k.split(".")[1]) % 2 == 0:
            out[k.replace(".conv.weight", ".conv.blur.kernel")] = blur
        if k.startswith("convs.") and k.endswith(".conv2.1.weight"):
            out[k.replace(".conv2.1.weight", ".conv2.0.kernel")] = blur
            out[k.replace(".conv2.1.weight", ".skip.0.kernel")] = blur
    return out


def _tf_conv(w):
    """ours [O, I, k, k] -> TensorFlow [k, k, I, O]."""
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


def tf_generator_vars(state, size):
    s = _np(state)
    mapping = {}
    for k in s:
        if k.startswith("style.") and k.endswith(".weight"):
            i = int(k.split(".")[1]) - 1
            mapping[f"Dense{i}/weight"], mapping[f"Dense{i}/bias"] = s[k], s[f"style.{i + 1}.bias"]
    synth = {"4x4/Const/const": s["input.input"]}

    def layer(scope, ours, up=False, rgb=False):
        w = _tf_conv(s[f"{ours}.conv.weight"][0])
        synth[f"{scope}/weight"] = np.ascontiguousarray(w[::-1, ::-1]) if up else w
        synth[f"{scope}/mod_weight"] = s[f"{ours}.conv.modulation.weight"]
        synth[f"{scope}/mod_bias"] = s[f"{ours}.conv.modulation.bias"] - 1
        if rgb:
            synth[f"{scope}/bias"] = s[f"{ours}.bias"].reshape(-1)
        else:
            synth[f"{scope}/noise_strength"] = np.float32(s[f"{ours}.noise.weight"][0])
            synth[f"{scope}/bias"] = s[f"{ours}.activate.bias"]
    layer("4x4/Conv", "conv1")
    layer("4x4/ToRGB", "to_rgb1", rgb=True)
    for j, r in enumerate(_resolutions(size)):
        layer(f"{r}x{r}/Conv0_up", f"convs.{2 * j}", up=True)
        layer(f"{r}x{r}/Conv1", f"convs.{2 * j + 1}")
        layer(f"{r}x{r}/ToRGB", f"to_rgbs.{j}", rgb=True)
    for i in range(2 * len(_resolutions(size)) + 1):
        synth[f"noise{i}"] = s[f"noises.noise_{i}"]
    return mapping, synth, s["w_avg"]


def tf_networks(g_state, d_state, size, mbstd_group=4, gs_state=None, src=""):
    """(G, D, Gs) as NVIDIA's TensorFlow StyleGAN2 pickles hold them."""
    kwargs = dict(resolution=size, architecture="skip", fmap_base=16 << 10, label_size=0)

    def generator(state, name):
        mapping, synth, avg = tf_generator_vars(state, size)
        return TFNet(name, {"dlatent_avg": avg}, components={
            "mapping": TFNet("G_mapping", mapping, build_module_src=src),
            "synthesis": TFNet("G_synthesis", synth, build_module_src=src)}, static_kwargs=kwargs,
            build_module_src=src)
    d = _np(d_state)
    dv = {f"{size}x{size}/FromRGB/weight": _tf_conv(d["convs.0.0.weight"]),
          f"{size}x{size}/FromRGB/bias": d["convs.0.1.bias"]}
    for k, r in enumerate(reversed(_resolutions(size)), start=1):
        dv[f"{r}x{r}/Conv0/weight"], dv[f"{r}x{r}/Conv0/bias"] = (_tf_conv(d[f"convs.{k}.conv1.0.weight"]),
                                                                  d[f"convs.{k}.conv1.1.bias"])
        dv[f"{r}x{r}/Conv1_down/weight"], dv[f"{r}x{r}/Conv1_down/bias"] = (_tf_conv(d[f"convs.{k}.conv2.1.weight"]),
                                                                            d[f"convs.{k}.conv2.2.bias"])
        dv[f"{r}x{r}/Skip/weight"] = _tf_conv(d[f"convs.{k}.skip.1.weight"])
    dv.update({"4x4/Conv/weight": _tf_conv(d["final_conv.0.weight"]), "4x4/Conv/bias": d["final_conv.1.bias"],
               "4x4/Dense0/weight": d["final_linear.0.weight"], "4x4/Dense0/bias": d["final_linear.0.bias"],
               "Output/weight": d["final_linear.1.weight"], "Output/bias": d["final_linear.1.bias"]})
    disc = TFNet("D", dv, static_kwargs=dict(resolution=size, architecture="resnet", mbstd_group_size=mbstd_group),
                 build_module_src=src)
    return generator(g_state, "G"), disc, generator(gs_state if gs_state is not None else g_state, "Gs")


def tf_v1_networks(g_state, d_state, size, gs_state=None, mbstd_group=4, src="", **g_kwargs):
    """(G, D, Gs) as NVIDIA's StyleGAN (v1) TensorFlow pickles hold them: G_style with components G_mapping /
    G_synthesis (scopes 4x4/Const, 4x4/Conv, {r}x{r}/Conv0_up and Conv1 with Noise/weight, bias, StyleMod/weight
    and bias; ToRGB_lod{k}; noise{i}; lod), ``dlatent_avg`` and ``lod`` on G_style, and D_basic."""
    log2 = int(np.log2(size))

    def scope(i):
        if i < 2:
            return ["4x4/Const", "4x4/Conv"][i]
        r = 2 ** (i // 2 + 2)
        return f"{r}x{r}/" + ("Conv0_up" if i % 2 == 0 else "Conv1")

    def generator(state, name):
        s = _np(state)
        mapping = {f"Dense{int(k.split('.')[1]) - 1}/{k.split('.')[-1]}": v for k, v in s.items()
                   if k.startswith("style.")}
        synth = {"4x4/Const/const": s["const"], "lod": np.float32(s["lod"][0])}
        for i in range(2 * log2 - 2):
            ours = f"layers.{i}"
            if i:
                w = s[f"{ours}.conv.conv.weight"] if f"{ours}.conv.conv.weight" in s else s[f"{ours}.conv.weight"]
                synth[f"{scope(i)}/weight"] = _tf_conv(w)
            synth[f"{scope(i)}/Noise/weight"] = s[f"{ours}.noise_strength"]
            synth[f"{scope(i)}/bias"] = s[f"{ours}.bias"]
            synth[f"{scope(i)}/StyleMod/weight"] = s[f"{ours}.style.weight"]
            synth[f"{scope(i)}/StyleMod/bias"] = s[f"{ours}.style.bias"]
            synth[f"noise{i}"] = s[f"noises.noise_{i}"]
        for res in range(2, log2 + 1):
            synth[f"ToRGB_lod{log2 - res}/weight"] = _tf_conv(s[f"to_rgbs.{res - 2}.weight"])
            synth[f"ToRGB_lod{log2 - res}/bias"] = s[f"to_rgbs.{res - 2}.bias"]
        kwargs = dict(resolution=size, num_channels=3, label_size=0, **g_kwargs)
        return TFNet(name, {"lod": np.float32(s["lod"][0]), "dlatent_avg": s["w_avg"]}, components={
            "mapping": TFNet("G_mapping", mapping, build_module_src=src),
            "synthesis": TFNet("G_synthesis", synth, build_module_src=src)}, static_kwargs=kwargs,
            build_module_src=src)
    d = _np(d_state)
    dv = {"lod": np.float32(d["lod"][0])}
    for lod in range(log2 - 1):
        dv[f"FromRGB_lod{lod}/weight"] = _tf_conv(d[f"from_rgbs.{lod}.conv.weight"])
        dv[f"FromRGB_lod{lod}/bias"] = d[f"from_rgbs.{lod}.act.bias"]
    for lod in range(log2 - 2):
        r = 2 ** (log2 - lod)
        dv[f"{r}x{r}/Conv0/weight"] = _tf_conv(d[f"blocks.{lod}.conv0.conv.weight"])
        dv[f"{r}x{r}/Conv0/bias"] = d[f"blocks.{lod}.conv0.act.bias"]
        dv[f"{r}x{r}/Conv1_down/weight"] = _tf_conv(d[f"blocks.{lod}.conv1_down.conv.weight"])
        dv[f"{r}x{r}/Conv1_down/bias"] = d[f"blocks.{lod}.conv1_down.act.bias"]
    dv.update({"4x4/Conv/weight": _tf_conv(d["conv.conv.weight"]), "4x4/Conv/bias": d["conv.act.bias"],
               "4x4/Dense0/weight": d["dense0.weight"], "4x4/Dense0/bias": d["dense0_act.bias"],
               "4x4/Dense1/weight": d["dense1.weight"], "4x4/Dense1/bias": d["dense1.bias"]})
    disc = TFNet("D", dv, static_kwargs=dict(resolution=size, num_channels=3, label_size=0,
                                              mbstd_group_size=mbstd_group), build_module_src=src)
    return generator(g_state, "G"), disc, generator(gs_state if gs_state is not None else g_state, "Gs")


def ada_generator_module(state, size, src="", fp16_res=0):
    """stylegan2-ada-pytorch's ``Generator`` module tree with our weights."""
    s = _np(state)
    n_mlp = len([k for k in s if k.startswith("style.") and k.endswith(".weight")])
    w_dim = s["style.1.weight"].shape[1] if n_mlp else s["conv1.conv.modulation.weight"].shape[0]
    fcs = {f"fc{i}": Persistent("FullyConnectedLayer", {"weight": s[f"style.{i + 1}.weight"].T,
                                                         "bias": s[f"style.{i + 1}.bias"]}, module_src=src)
           for i in range(n_mlp)}
    c_dim = s["embed.weight"].shape[0] if "embed.weight" in s else 0
    if c_dim:  # a conditional generator: the label embedding (weight [w_dim, c_dim] in torch's layout)
        fcs["embed"] = Persistent("FullyConnectedLayer", {"weight": s["embed.weight"].T, "bias": s["embed.bias"]},
                                  module_src=src)
    mapping = Persistent("MappingNetwork", buffers={"w_avg": s["w_avg"]}, modules=fcs, module_src=src)
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 64

    def layer(ours, noise=None, rgb=False):
        affine = Persistent("FullyConnectedLayer", {"weight": s[f"{ours}.conv.modulation.weight"].T,
                                                    "bias": s[f"{ours}.conv.modulation.bias"]}, module_src=src)
        params = {"weight": s[f"{ours}.conv.weight"][0]}
        if rgb:
            params["bias"] = s[f"{ours}.bias"].reshape(-1)
            return Persistent("ToRGBLayer", params, modules={"affine": affine}, module_src=src)
        params.update(noise_strength=np.float32(s[f"{ours}.noise.weight"][0]), bias=s[f"{ours}.activate.bias"])
        return Persistent("SynthesisLayer", params, {"resample_filter": f, "noise_const": s[noise][0, 0]},
                          {"affine": affine}, module_src=src)
    blocks = {"b4": Persistent("SynthesisBlock", {"const": s["input.input"][0]}, {"resample_filter": f},
                               {"conv1": layer("conv1", "noises.noise_0"), "torgb": layer("to_rgb1", rgb=True)},
                               module_src=src, use_fp16=False)}
    for j, r in enumerate(_resolutions(size)):
        blocks[f"b{r}"] = Persistent("SynthesisBlock", buffers={"resample_filter": f}, modules={
            "conv0": layer(f"convs.{2 * j}", f"noises.noise_{2 * j + 1}"),
            "conv1": layer(f"convs.{2 * j + 1}", f"noises.noise_{2 * j + 2}"),
            "torgb": layer(f"to_rgbs.{j}", rgb=True)}, module_src=src, use_fp16=r >= size // 2 ** (fp16_res - 1)
            if fp16_res else False)
    synthesis = Persistent("SynthesisNetwork", modules=blocks, module_src=src)
    init = {"z_dim": w_dim, "c_dim": c_dim, "w_dim": w_dim, "img_resolution": size,
            "img_channels": int(np.shape(state["to_rgb1.bias"])[1]),
            "mapping_kwargs": {"num_layers": n_mlp}}
    return Persistent("Generator", modules={"mapping": mapping, "synthesis": synthesis}, module_src=src,
                      _init_kwargs=init)


def ada_discriminator_module(state, size, mbstd_group=4, src=""):
    d = _np(state)
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 64

    def conv(w, b=None):
        params = {"weight": w} if b is None else {"weight": w, "bias": b}
        return Persistent("Conv2dLayer", params, {"resample_filter": f}, module_src=src)
    blocks = {}
    for k, r in enumerate(reversed(_resolutions(size)), start=1):
        mods = {"conv0": conv(d[f"convs.{k}.conv1.0.weight"], d[f"convs.{k}.conv1.1.bias"]),
                "conv1": conv(d[f"convs.{k}.conv2.1.weight"], d[f"convs.{k}.conv2.2.bias"]),
                "skip": conv(d[f"convs.{k}.skip.1.weight"])}
        if r == size:
            mods = {"fromrgb": conv(d["convs.0.0.weight"], d["convs.0.1.bias"]), **mods}
        blocks[f"b{r}"] = Persistent("DiscriminatorBlock", buffers={"resample_filter": f}, modules=mods,
                                     module_src=src)

    def fc(w, b):
        return Persistent("FullyConnectedLayer", {"weight": w.T, "bias": b}, module_src=src)
    blocks["b4"] = Persistent("DiscriminatorEpilogue", modules={
        "mbstd": Persistent("MinibatchStdLayer", module_src=src, group_size=mbstd_group, num_channels=1),
        "conv": conv(d["final_conv.0.weight"], d["final_conv.1.bias"]),
        "fc": fc(d["final_linear.0.weight"], d["final_linear.0.bias"]),
        "out": fc(d["final_linear.1.weight"], d["final_linear.1.bias"])}, module_src=src)
    c_dim = d["mapping.embed.weight"].shape[0] if "mapping.embed.weight" in d else 0
    if c_dim:  # the projection head's label mapping: MappingNetwork(z_dim=0) with embed and fc0..
        n = len([k for k in d if k.startswith("mapping.layers.") and k.endswith(".weight")])
        fcs = {f"fc{i}": fc(d[f"mapping.layers.{i}.weight"], d[f"mapping.layers.{i}.bias"]) for i in range(n)}
        blocks["mapping"] = Persistent("MappingNetwork", modules={
            "embed": fc(d["mapping.embed.weight"], d["mapping.embed.bias"]), **fcs}, module_src=src)
    init = {"c_dim": c_dim, "img_resolution": size, "img_channels": int(np.shape(d["convs.0.0.weight"])[1]),
            "architecture": "resnet",
            "epilogue_kwargs": {"mbstd_group_size": mbstd_group}}
    return Persistent("Discriminator", modules=blocks, module_src=src, _init_kwargs=init)
