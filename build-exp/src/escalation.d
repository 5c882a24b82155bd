build-exp/src/escalation.o: src/escalation.c src/escalation.h \
 src/config.h src/hashmap.h
src/escalation.h:
src/config.h:
src/hashmap.h:
