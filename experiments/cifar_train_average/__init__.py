"""Does training the average of CNNs gain once each member moves as fast as a single model?"""
