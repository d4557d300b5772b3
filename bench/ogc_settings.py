"""Settings for the OGC benchmark's second server: the project's, with the tile cache off."""

from childsafe.settings import *  # noqa: F403

OGC_TILE_CACHE_SECONDS = 0
