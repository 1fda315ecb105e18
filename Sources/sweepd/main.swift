import Training
print("sweepd")
