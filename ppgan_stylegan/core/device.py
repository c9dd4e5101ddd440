"""Device choice in one place: the requested one, else a GPU when Paddle has CUDA and sees one, else the CPU."""
import paddle


def default_device():
    return "gpu" if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() else "cpu"


def use_device(requested=None):
    """Set Paddle's device (``requested`` or the default) and return its name."""
    device = requested or default_device()
    paddle.set_device(device)
    return device
