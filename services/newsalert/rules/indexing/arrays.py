"""The array types of the index (numpy arrays the compiled kernels read)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
OffsetArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
