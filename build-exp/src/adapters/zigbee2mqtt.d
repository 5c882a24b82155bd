build-exp/src/adapters/zigbee2mqtt.o: src/adapters/zigbee2mqtt.c \
 src/adapters/common.h src/adapter.h src/config.h src/hashmap.h \
 src/event.h src/util.h
src/adapters/common.h:
src/adapter.h:
src/config.h:
src/hashmap.h:
src/event.h:
src/util.h:
