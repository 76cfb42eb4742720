"""Networks whose activation codes hamgeo studies: ReLU nets and binarized nets."""
