// Identifiers of the paged latent cache, shared by the scheduler (which owns ids) and the executor (which owns memory).

export type BlockId = number & { readonly __brand: 'BlockId' };
