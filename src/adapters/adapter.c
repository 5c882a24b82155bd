/* adapter.c: the table of device-ecosystem adapters, looked up by a device's `source`. */
#include "adapter.h"

#include <string.h>

static const struct adapter *const adapters[] = {
        &adapter_native, &adapter_zigbee2mqtt, &adapter_shelly,  &adapter_frigate,
        &adapter_ring,   &adapter_tasmota,     &adapter_esphome,
};

/* Declared in config.h, defined with the adapters so that their tests need no config.o. */
const char *device_source(const struct device *d)
{
        return d->adapter ? d->adapter->name : NULL;
}

const struct adapter *adapter_find(const char *name)
{
        for (size_t i = 0; name && i < sizeof(adapters) / sizeof(adapters[0]); i++)
                if (strcmp(adapters[i]->name, name) == 0)
                        return adapters[i];
        return NULL;
}
