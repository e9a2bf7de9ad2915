// zlib, for compressing checkpoints (the engine's state repeats itself: JSON of a 1 000-equipment
// plant shrinks about twentyfold). Only MeltWatchDaemon imports this module.
#ifndef MELTWATCH_CZLIB_SHIM_H
#define MELTWATCH_CZLIB_SHIM_H
#include <zlib.h>
#endif
