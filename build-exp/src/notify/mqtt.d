build-exp/src/notify/mqtt.o: src/notify/mqtt.c src/notify/mqtt_notifier.h \
 src/mqtt.h src/config.h src/hashmap.h src/notify/notify.h \
 src/notify/template.h src/util.h
src/notify/mqtt_notifier.h:
src/mqtt.h:
src/config.h:
src/hashmap.h:
src/notify/notify.h:
src/notify/template.h:
src/util.h:
