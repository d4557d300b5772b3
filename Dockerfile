FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 gettext \
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir . \
 && DJANGO_DEBUG=1 python manage.py compilemessages --ignore '.venv' \
 && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build DJANGO_STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput --ignore redoc
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
