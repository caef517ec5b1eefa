"""The search wing of the web stage: what ranks pages for the ``search`` tool.

``index`` (tantivy BM25 over one title+text field), ``maxscore`` (exact top k without the frequent terms' posting
lists), ``snippets`` (query-relevant windows), ``encoder`` (the sentence-transformers model, packaged MiniLM by
default), ``dense`` (faiss index, resumable embedding, RRF fusion; ``web embed``), ``onnx_encoder`` (the query
encoder on ONNX Runtime) and ``feedback`` (hybrid's second hop). ``openseeker.web.local.LocalWeb`` puts them
together with the graph store.
"""
