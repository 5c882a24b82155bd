build-exp/src/mqtt.o: src/mqtt.c src/mqtt.h src/config.h src/hashmap.h \
 src/log.h src/util.h
src/mqtt.h:
src/config.h:
src/hashmap.h:
src/log.h:
src/util.h:
