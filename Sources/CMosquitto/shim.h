// The libmosquitto C API as seen by Swift. Only MeltWatchMQTT and the simulator's
// publisher import this module; everything else talks to MeltWatchMQTT.
#ifndef MELTWATCH_CMOSQUITTO_SHIM_H
#define MELTWATCH_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
