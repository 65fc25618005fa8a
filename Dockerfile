# neurodyn lab dashboard for a shared, CPU-only lab instance.
#   docker build -t neurodyn .
#   docker run -p 8501:8501 --cpus 4 --memory 8g -e NEURODYN_MAX_JOBS=2 -v neurodyn-data:/data neurodyn
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu" \
    NUMBA_CACHE_DIR=/app/.numba_cache \
    NEURODYN_DATA_DIR=/data \
    NEURODYN_HOME=/data \
    NEURODYN_MAX_JOBS=2 \
    NEURODYN_TORCH_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app

# Same install script as CI runs (scripts/install.sh), so CI proves these steps.
COPY requirements.txt requirements-dev.txt pyproject.toml README.md ./
COPY scripts/install.sh scripts/install.sh
COPY neurodyn/__init__.py neurodyn/__init__.py
RUN bash scripts/install.sh

COPY . .
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app app \
    && mkdir -p /data "$NUMBA_CACHE_DIR" \
    && chown -R 10001:10001 /data "$NUMBA_CACHE_DIR"

USER 10001:10001
# Pay numba's JIT (UMAP) once at build time, as the runtime user, into the writable cache.
RUN python -m neurodyn warmup

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() == b'ok' else 1)"]

CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
