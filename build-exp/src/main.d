build-exp/src/main.o: src/main.c src/config.h src/hashmap.h src/daemon.h \
 src/log.h src/notify/notify.h src/notify/template.h src/roster.h \
 src/util.h
src/config.h:
src/hashmap.h:
src/daemon.h:
src/log.h:
src/notify/notify.h:
src/notify/template.h:
src/roster.h:
src/util.h:
