"""Small helpers on networks as a whole: the one home of freezing."""


def _frozen(net, name):
    prefixes = getattr(net, "_frozen_prefixes", ())
    return bool(prefixes) and name.startswith(prefixes)


def set_trainable(net, flag):
    """Turn gradients of every parameter of ``net`` on or off (parts frozen by ``freeze_parts`` stay off)."""
    for name, p in net.named_parameters():
        p.stop_gradient = not flag or _frozen(net, name)
    return net


def freeze(net):
    """Evaluation mode and no gradients: a network used, never trained."""
    net.eval()
    return set_trainable(net, False)


def freeze_parts(net, prefixes):
    """Keep the parameters whose state-dict names start with one of ``prefixes`` fixed for good: no gradients,
    ``set_trainable`` leaves them off and ``trainable_parameters`` leaves them out (FreezeD)."""
    net._frozen_prefixes = tuple(prefixes)
    return set_trainable(net, True)


def trainable_parameters(net):
    """The parameters an optimizer should update (all but the frozen parts)."""
    return [p for name, p in net.named_parameters() if not _frozen(net, name)]
