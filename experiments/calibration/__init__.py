"""Which parameters of the default preset show Theorem 1 at finite size?"""
