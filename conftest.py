"""Root pytest configuration shared by every package's tests.

XLA reads its flags once, when jax starts its backend: the flags rematerialization
needs on CPU (see ``jaxnas.supernet.configure_xla``) must therefore be set before
any test module runs a jax computation, which only a root conftest guarantees.
"""

from jaxnas.supernet import configure_xla

configure_xla()
