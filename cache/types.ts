// Identifiers of the paged latent cache, shared by the scheduler (which owns ids) and the executor (which owns memory).

export type BlockId = number & { readonly __brand: 'BlockId' };

/** Chained content hash of one full block: H(parentHash, tokenIdsOfBlock), base64 of a sha256 digest (44 chars). */
export type BlockHash = string & { readonly __brand: 'BlockHash' };
