"""The restricted pickle machine: opcodes run without executing code, globals resolved by name.

Everything a pickle names becomes an inert record (:mod:`.objects`) unless it is one of torch's
tensor rebuild functions (:mod:`.resolve`); :mod:`.allowlist` decides which names a
``safe`` file may name.
"""
