"""Does the paper's KD objective transfer views at the temperature of its own scale?"""
