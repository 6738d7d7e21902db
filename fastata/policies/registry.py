"""The one place a policy class plugs in: :func:`register` makes it a kind that ``load`` knows.

A policy file names its class (``meta["kind"]``); ``fastata.load`` rebuilds it from
:data:`KINDS` through the class's ``_from_meta(meta, backend, arrays)`` and ``_restore``.
Every built-in policy is registered here by the decorator on its class; a new one (a
subclass of :class:`~fastata.policies.Policy`) is registered the same way.
"""

#: Policy class name -> class, for every policy that ``fastata.load`` can rebuild.
KINDS = {}


def register(cls):
    """Class decorator: make ``cls`` loadable by ``fastata.load`` under its class name."""
    name = cls.__name__
    if KINDS.get(name, cls) is not cls:
        raise ValueError(f"a policy kind named {name!r} is already registered ({KINDS[name].__module__})")
    KINDS[name] = cls
    return cls
