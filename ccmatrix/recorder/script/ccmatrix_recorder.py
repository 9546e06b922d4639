"""The file mitmdump loads (`mitmdump -s .../ccmatrix_recorder.py`): the addon from the package."""

from ccmatrix.recorder.addon import CcmatrixRecorder

addons = [CcmatrixRecorder()]
