"""Foundation of the package: one home for each small idiom (errors, checks, atomic files, devices, images,
ranges, freezing, weight-file reading, configs, collectives). Nothing here imports the rest of the package."""
