"""Small .npy helpers for the sieve-run tests.

  npy.py save FILE.npy EXPR   saves the numpy expression EXPR (np in scope)
  npy.py show FILE.npy        prints "dtype shape values" on one line
"""

import sys

import numpy as np

if sys.argv[1] == "save":
    np.save(sys.argv[2], eval(sys.argv[3], {"np": np}))
elif sys.argv[1] == "show":
    array = np.load(sys.argv[2])
    print(array.dtype, list(array.shape), array.ravel().tolist())
else:
    sys.exit("usage: npy.py save FILE EXPR | show FILE")
