// quant/: INT8 / INT4 / FP8 codecs (block-wise scales), used by the checkpoint loader, the graph builder and the
// latent cache. Pure arithmetic on typed arrays: imports nothing else from the project.
export {};
