"""CPU thread counts, pinned: the last digits of a result depend on them.

torch's intra-op pool and the BLAS that NumPy and SciPy load (OpenBLAS) split their sums by
thread count. Measured on Fashion-MNIST classifier features: KID std 1.1089051536850072 with one
OpenBLAS thread, 1.1089050280995527 with two. Left alone, the count follows the machine's cores,
so a metrics file could change from one machine to another; pinned, it depends on --threads only.
"""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits


def pin_threads(n: int) -> threadpool_limits:
    """Run torch on n threads and cap every loaded BLAS library at n threads.

    Use the result as a context manager: the BLAS cap is lifted on exit (torch keeps n).
    threadpoolctl only sees libraries already loaded, so SciPy's own OpenBLAS is loaded first.
    """
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    import scipy.linalg  # noqa: F401  (SciPy ships its own OpenBLAS; load it so the cap covers it)

    torch.set_num_threads(n)
    return threadpool_limits(limits=n, user_api="blas")
