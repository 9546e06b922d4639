"""For running mitmdump by hand from a checkout; ccmatrix itself loads the same addon
from the installed package (ccmatrix/recorder/script/ccmatrix_recorder.py).

    mitmdump -s recorder/ccmatrix_recorder.py --set connection_strategy=lazy \
        --set ccmatrix_upstream=replay --set ccmatrix_cassettes=cassettes/
"""

from ccmatrix.recorder.addon import CcmatrixRecorder

addons = [CcmatrixRecorder()]
