"""The floor of a network's speed: plain ``F.conv2d`` / ``conv2d_transpose`` calls with the shapes of its
convolutions, and their multiply-add counts."""
import paddle
import paddle.nn.functional as F

FLOORS = (("G forward (no grad)", "floor: G forward"), ("G forward+backward", "floor: G forward+backward"),
          ("D forward+backward", "floor: D forward+backward"))


def generator_convs(gen, batch):
    """(input shape, weight shape, stride, transposed) of the generator's convolutions, in order."""
    convs, res = [], 4
    for layer, _ in gen._modulated_layers():
        shape = [layer.out_channel, layer.in_channel, layer.kernel_size, layer.kernel_size]
        convs.append(([batch, layer.in_channel, res, res], shape, 2 if layer.upsample else 1, layer.upsample))
        res *= 2 if layer.upsample else 1
    return convs


def discriminator_convs(disc, image):
    """The same for the discriminator, recorded from one forward pass (its equalized convolutions)."""
    convs, hooks = [], []
    for layer in disc.sublayers():
        if type(layer).__name__ == "EqualConv2D":
            hooks.append(layer.register_forward_pre_hook(
                lambda lyr, inputs: convs.append((list(inputs[0].shape), list(lyr.weight.shape), lyr.stride, False))))
    with paddle.no_grad():
        disc(image)
    for hook in hooks:
        hook.remove()
    return convs


def conv_flops(convs):
    """Multiply-adds x 2 of the forward convolutions (a transposed conv: over its input grid)."""
    total = 0
    for (n, _, h, w), (o, i, k, _), stride, transposed in convs:
        out_hw = h * w if transposed else (h // stride) * (w // stride)
        total += 2 * n * o * i * k * k * out_hw
    return total


def conv_floor(convs, backward=False):
    """Plain F.conv2d / conv2d_transpose calls with these shapes (padding k // 2; with ``backward`` the
    gradients of inputs and weights too)."""
    tensors = []
    for x_shape, (o, i, k, _), stride, transposed in convs:
        x, w = paddle.randn(x_shape), paddle.randn([i, o, k, k] if transposed else [o, i, k, k])  # leaves
        x.stop_gradient = w.stop_gradient = not backward
        tensors.append((x, w, stride, transposed, k // 2))

    def run():
        with paddle.set_grad_enabled(backward):
            outs = [F.conv2d_transpose(x, w, stride=2) if transposed else F.conv2d(x, w, stride=stride, padding=pad)
                    for x, w, stride, transposed, pad in tensors]
            if backward:
                paddle.add_n([o.mean() for o in outs]).backward()
    return run
