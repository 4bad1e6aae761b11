"""Game algorithms as optax-style gradient transformations over the joint field ``xi``.

This catalogue is their one public home: ``jaxgan.transforms.cgd``, not ``jaxgan.cgd`` (the
top-level spellings of earlier releases warn and name this one).

Each algorithm's module (``_<name>.py`` in this package) lists its public names in its
``__all__``; this catalogue gathers them, so adding an algorithm touches no registry
(``CONTRIBUTING.md``). Two modules exporting one name is an import error.
"""

import importlib as _importlib
import pkgutil as _pkgutil


def _gather() -> list:
    names, owner = [], {}
    for info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            continue
        module = _importlib.import_module(f"{__name__}.{info.name}")
        for name in getattr(module, "__all__", ()):
            if name in owner:
                raise ImportError(
                    f"jaxgan.transforms: `{name}` is exported by both {owner[name]} and "
                    f"{info.name}; each public name has one module."
                )
            owner[name] = info.name
            globals()[name] = getattr(module, name)
            names.append(name)
    return sorted(names)


__all__ = _gather()

from .._deprecations import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__)
