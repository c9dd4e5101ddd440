"""Small helpers on networks as a whole."""


def set_trainable(net, flag):
    """Turn gradients of every parameter of ``net`` on or off."""
    for p in net.parameters():
        p.stop_gradient = not flag
    return net


def freeze(net):
    """Evaluation mode and no gradients: a network used, never trained."""
    net.eval()
    return set_trainable(net, False)
