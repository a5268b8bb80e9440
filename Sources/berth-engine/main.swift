print("berth-engine")
