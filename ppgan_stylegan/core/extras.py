"""Optional features are pip extras (setup.py): whether one is installed, and the one line that says how to
install it when it is not."""
import importlib

from .errors import UserError


def require_extra(module, feature, extra):
    """Import ``module`` (an optional feature's package) or raise a one-line UserError naming ``feature`` and how to
    install ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise UserError(f"{feature} needs {module}, an optional feature, which is not installed ({e}): "
                        f"pip install -e .[{extra}] (in this repository) or pip install {module}")


def have_extra(module):
    """Whether an optional feature's package imports (for features with a fallback)."""
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False
